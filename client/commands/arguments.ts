/**
 * The words typed after a command word, and the checks every command's `parse` uses:
 * how many there are, integers in a range, file IDs, the rest of the line as text. Each
 * check throws a {@linkcode BadArgumentsError} naming the problem; the parser adds the
 * command's synopsis.
 *
 * @module
 */

import { isOperation, type Operation, OPERATIONS } from "../../protocol/compute.ts";
import { BadArgumentsError } from "../../protocol/errors.ts";
import { MAX_FILE_ID } from "../../protocol/limits.ts";
import type { DeviceArgs, NoArgs } from "./command.ts";

/** The arguments of one typed command line. */
export class CommandArguments {
  /** The command word in upper case, as problems name it. */
  readonly command: string;
  readonly #line: string;
  readonly #words: readonly string[];

  /**
   * @param command the command word in upper case.
   * @param line the whole line as typed.
   * @param words the words after the command word.
   */
  constructor(command: string, line: string, words: readonly string[]) {
    this.command = command;
    this.#line = line;
    this.#words = words;
  }

  /** How many words follow the command word. */
  get count(): number {
    return this.#words.length;
  }

  /**
   * Requires exactly `count` words.
   *
   * @param what the words, for the message (`"a fileID and a dataAmount"`).
   * @throws {BadArgumentsError} when there are fewer or more.
   */
  expect(count: number, what: string): void {
    if (this.count < count) throw new BadArgumentsError(`${this.command} needs ${what}`);
    if (this.count > count) {
      throw new BadArgumentsError(
        count === 0 ? `${this.command} takes no arguments` : `${this.command} takes only ${what}`,
      );
    }
  }

  /**
   * Requires at least `count` words, for commands whose last argument is free text. These
   * are the messaging commands, named in lower case as they are typed.
   *
   * @param what the words, for the message (`"a device name and some text"`).
   * @throws {BadArgumentsError} when there are fewer.
   */
  expectText(count: number, what: string): void {
    if (this.count < count) {
      throw new BadArgumentsError(`${this.command.toLowerCase()} needs ${what}`);
    }
  }

  /**
   * Reads no arguments, for commands that take none.
   *
   * @throws {BadArgumentsError} when there are some.
   */
  none(): NoArgs {
    this.expect(0, "");
    return {};
  }

  /**
   * Reads one device name, for commands that take just that.
   *
   * @throws {BadArgumentsError} when there is not exactly one word.
   */
  device(): DeviceArgs {
    this.expect(1, "a device name");
    return { device: this.arg(0) };
  }

  /**
   * Word `index` (0 is the first after the command word).
   *
   * @throws {RangeError} when there is no such word (`expect` first).
   */
  arg(index: number): string {
    const word = this.#words[index];
    if (word === undefined) throw new RangeError(`no argument ${index}; check the count first`);
    return word;
  }

  /**
   * Word `index` as an integer in `min..max`.
   *
   * @param name the argument's name, for the message.
   * @throws {BadArgumentsError} when it is not an integer or out of range.
   */
  integer(index: number, name: string, min: number, max: number): number {
    const text = this.arg(index);
    if (!/^-?\d+$/.test(text)) {
      throw new BadArgumentsError(
        `${name} must be an integer, not ${JSON.stringify(text.slice(0, 20))}`,
      );
    }
    const value = Number(text);
    if (value < min || value > max) {
      throw new BadArgumentsError(`${name} must be ${min}..${max}, not ${text}`);
    }
    return value;
  }

  /**
   * Word `index` as a file ID (`0..MAX_FILE_ID`).
   *
   * @throws {BadArgumentsError} when it is not one.
   */
  fileID(index: number): number {
    return this.integer(index, "fileID", 0, MAX_FILE_ID);
  }

  /**
   * Word `index` as an SCS operation, in any case.
   *
   * @throws {BadArgumentsError} when it names none.
   */
  operation(index: number): Operation {
    const text = this.arg(index);
    const operation = text.toUpperCase();
    if (!isOperation(operation)) {
      throw new BadArgumentsError(
        `operation must be one of ${OPERATIONS.join(", ")}, not ${
          JSON.stringify(text.slice(0, 20))
        }`,
      );
    }
    return operation;
  }

  /** The rest of the line after the first `words` arguments, spacing inside kept as typed. */
  textAfter(words: number): string {
    let rest = this.#line.trimStart().replace(/^\S+\s*/, "");
    for (let i = 0; i < words; i++) rest = rest.replace(/^\S+\s*/, "");
    return rest.trimEnd();
  }
}
