/**
 * The bytes the splitter and its recognisers look for, by name. ASCII, so they are also the
 * UTF-16 code units that `charCodeAt` returns for the same characters.
 */
export const TAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const DOUBLE_QUOTE = 0x22;
export const SINGLE_QUOTE = 0x27;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const DASH = 0x2d;
export const DOT = 0x2e;
export const DIGIT_0 = 0x30;
export const DIGIT_9 = 0x39;
export const COLON = 0x3a;
export const EQUALS = 0x3d;
export const GREATER = 0x3e;
export const QUESTION = 0x3f;
export const UPPER_T = 0x54;
export const UPPER_Z = 0x5a;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const BACKTICK = 0x60;
export const LOWER_A = 0x61;
export const LOWER_Z = 0x7a;
export const PIPE = 0x7c;
/** OR-ing an ASCII letter with this gives its lower case. */
export const LOWER_CASE_BIT = 0x20;
