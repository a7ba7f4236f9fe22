/**
 * The bytes the splitter and its recognisers look for, by name. ASCII, so they are also the
 * UTF-16 code units that `charCodeAt` returns for the same characters.
 *
 * A const enum: tsc writes the number at each use, as a literal would be. Imported `const`s cost
 * 2-3% on the bench (V8 loads them from the module at each use in the per-byte loops).
 */
export const enum Byte {
  TAB = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  SPACE = 0x20,
  DOUBLE_QUOTE = 0x22,
  SINGLE_QUOTE = 0x27,
  PLUS = 0x2b,
  COMMA = 0x2c,
  DASH = 0x2d,
  DOT = 0x2e,
  DIGIT_0 = 0x30,
  DIGIT_9 = 0x39,
  COLON = 0x3a,
  EQUALS = 0x3d,
  GREATER = 0x3e,
  QUESTION = 0x3f,
  UPPER_T = 0x54,
  UPPER_Z = 0x5a,
  OPEN_BRACKET = 0x5b,
  CLOSE_BRACKET = 0x5d,
  BACKTICK = 0x60,
  LOWER_A = 0x61,
  LOWER_Z = 0x7a,
  PIPE = 0x7c,
  /** OR-ing an ASCII letter with this gives its lower case. */
  LOWER_CASE_BIT = 0x20,
}
