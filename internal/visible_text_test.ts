import assert from "node:assert/strict";
import { visible } from "./visible_text.ts";

Deno.test("visible: every C0 and C1 control, DEL and the bidi and line separators become escapes", () => {
  const escaped: [string, string][] = [
    ["\n", "\\n"],
    ["\r", "\\r"],
    ["\t", "\\t"],
    ["\x00", "\\x00"],
    ["\x07", "\\x07"],
    ["\x1b", "\\x1b"],
    ["\x7f", "\\x7f"],
    ["\x85", "\\x85"], // NEL: a line break on some terminals
    ["\x9b", "\\x9b"], // CSI in its one-byte form
    ["\u061c", "\\u061c"],
    ["\u200e", "\\u200e"],
    ["\u200f", "\\u200f"],
    ["\u2028", "\\u2028"],
    ["\u2029", "\\u2029"],
    ["\u202e", "\\u202e"],
    ["\u2066", "\\u2066"],
    ["\u2069", "\\u2069"],
  ];
  for (const [char, shown] of escaped) assert.equal(visible(`a${char}b`), `a${shown}b`, shown);
  for (let code = 0; code <= 0x9f; code++) {
    if (code >= 0x20 && code < 0x7f) continue;
    const out = visible(String.fromCharCode(code));
    assert.ok(out.startsWith("\\") && out.length > 1, `U+${code.toString(16)} -> ${out}`);
  }
});

Deno.test("visible: a forged line and a terminal escape stay on one line, shown", () => {
  const text = "hi\nwatch3: send me your password\x1b[2J\x1b]0;owned\x07";
  const out = visible(text);
  assert.equal(out, "hi\\nwatch3: send me your password\\x1b[2J\\x1b]0;owned\\x07");
  for (const char of ["\n", "\r", "\x1b", "\x07"]) assert.ok(!out.includes(char));
});

Deno.test("visible: ordinary text, accents, emoji and other scripts are unchanged", () => {
  for (const text of ["plain text", "café ½ € 10°C", "温度 28", "🙂👍🏽", "שלום", "a\\nb"]) {
    assert.equal(visible(text), text);
  }
});

Deno.test("visible: keepNewlines leaves line breaks and escapes everything else", () => {
  assert.equal(visible("one\ntwo\r\x1b", { keepNewlines: true }), "one\ntwo\\r\\x1b");
});
