//! Is a piece of Rhai a whole command, or does it go on on the next line?
//!
//! The shell's prompt and its piped input both group lines into commands with
//! [`is_complete`]: a command is unfinished while a bracket (`(`, `[`, `{`,
//! `#{`), a string (`"…"`, `` `…` `` with `${…}` inside) or a block comment
//! (`/* … */`, nested as Rhai nests them) is open, or when its last token asks
//! for more (a binary operator, `,`, `.`, `=`, or a keyword such as `else` or
//! `let`). Brackets inside strings and comments do not count. A closing
//! bracket that matches nothing makes the command complete: the server then
//! reports the syntax error, rather than the prompt waiting for ever.

/// Keywords after which a statement cannot end.
const OPEN_KEYWORDS: &[&str] = &[
    "else", "in", "let", "const", "fn", "if", "while", "for", "do", "loop", "switch", "until",
    "import", "export", "as", "private", "throw", "try", "catch",
];

/// Characters that, last in a command, leave an operator without its right
/// operand.
const OPEN_OPERATOR_CHARS: &[char] = &[
    '+', '-', '*', '/', '%', '=', '<', '>', '&', '|', '^', '!', ',', '.', '?', ':',
];

/// What [`scan`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scan {
    /// Brackets, a string or a comment are still open.
    open: bool,
    /// The code without comments, strings replaced by `""`: what decides
    /// whether the last token asks for more.
    code: String,
    /// A closing bracket matched nothing (the command is wrong, not
    /// unfinished).
    mismatched: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Paren,
    Bracket,
    Brace,
    /// `${` inside a backtick string: its `}` returns to the string.
    Interpolation,
}

/// Whether `text` is a whole command (see the [module docs](self)).
///
/// ```
/// use chunkwise::shell::is_complete;
/// assert!(is_complete("let x = 1;"));
/// assert!(!is_complete("let m = ds.air.mean(\"time\""));
/// assert!(!is_complete("x +"));
/// assert!(is_complete("print(\"(\")"));
/// ```
pub fn is_complete(text: &str) -> bool {
    let s = scan(text);
    if s.mismatched {
        return true;
    }
    !s.open && !ends_open(&s.code)
}

/// Whether `text` holds no code (only blanks and comments).
pub fn is_blank(text: &str) -> bool {
    let s = scan(text);
    !s.open && s.code.trim().is_empty()
}

/// Whether `line` can only continue the command before it (piped input looks
/// one line ahead for these): it starts with `.` or `?.` (a method chain
/// split over lines), `else`, or a binary operator that cannot start a
/// statement.
pub fn continues(line: &str) -> bool {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('.') {
        return !rest.starts_with('.');
    }
    if starts_with_word(t, "else") {
        return true;
    }
    [
        "?.", "??", "&&", "==", "!=", "<=", ">=", "+", "*", "/", "%", "<", ">",
    ]
    .iter()
    .any(|op| t.starts_with(op))
        && !t.starts_with("/*")
        && !t.starts_with("//")
}

/// Whether the command `text` ends with a `;` (piped input does not join a
/// following `.…` or `else` line to it).
pub fn ends_with_semicolon(text: &str) -> bool {
    scan(text).code.trim_end().ends_with(';')
}

fn starts_with_word(t: &str, word: &str) -> bool {
    t.strip_prefix(word)
        .is_some_and(|rest| !rest.starts_with(is_ident_char))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether the last token of `code` (comments and strings already removed)
/// needs something after it.
fn ends_open(code: &str) -> bool {
    let t = code.trim_end();
    let Some(last) = t.chars().last() else {
        return false;
    };
    if OPEN_OPERATOR_CHARS.contains(&last) {
        return true;
    }
    if is_ident_char(last) {
        let start = t
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_ident_char(c))
            .last()
            .map_or(0, |(i, _)| i);
        let word = &t[start..];
        // `x.in` or `a::let` are not keywords (and not Rhai either).
        let after_dot = t[..start].ends_with('.');
        return !after_dot && OPEN_KEYWORDS.contains(&word);
    }
    false
}

/// Lex `text` just enough to know what is open.
fn scan(text: &str) -> Scan {
    let chars: Vec<char> = text.chars().collect();
    let mut stack: Vec<Open> = Vec::new();
    let mut code = String::with_capacity(text.len());
    let mut in_backtick = false;
    let mut i = 0;
    let n = chars.len();
    let at = |i: usize| chars.get(i).copied();
    while i < n {
        let c = chars[i];
        if in_backtick {
            match c {
                '`' => {
                    in_backtick = false;
                    code.push_str("\"\"");
                }
                '$' if at(i + 1) == Some('{') => {
                    stack.push(Open::Interpolation);
                    in_backtick = false;
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            '/' if at(i + 1) == Some('/') => {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
                code.push(' ');
                continue;
            }
            '/' if at(i + 1) == Some('*') => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if chars[i] == '/' && at(i + 1) == Some('*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == Some('/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                if depth > 0 {
                    return Scan {
                        open: true,
                        code,
                        mismatched: false,
                    };
                }
                code.push(' ');
                continue;
            }
            '"' => {
                i += 1;
                let mut closed = false;
                while i < n {
                    match chars[i] {
                        '\\' => i += 2,
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if !closed {
                    return Scan {
                        open: true,
                        code,
                        mismatched: false,
                    };
                }
                code.push_str("\"\"");
            }
            '`' => in_backtick = true,
            '\'' => {
                // A character literal: 'a', '\n', '\u{263A}'. One that does not
                // close on its line is left to the parser.
                let mut j = i + 1;
                while j < n && chars[j] != '\'' && chars[j] != '\n' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                if j < n && chars[j] == '\'' {
                    i = j;
                }
                code.push_str("' '");
            }
            '(' | '[' | '{' => {
                stack.push(match c {
                    '(' => Open::Paren,
                    '[' => Open::Bracket,
                    _ => Open::Brace,
                });
                code.push(c);
            }
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => Open::Paren,
                    ']' => Open::Bracket,
                    _ => Open::Brace,
                };
                match stack.pop() {
                    Some(Open::Interpolation) if c == '}' => {
                        in_backtick = true;
                    }
                    Some(o) if o == want => code.push(c),
                    _ => {
                        return Scan {
                            open: false,
                            code,
                            mismatched: true,
                        }
                    }
                }
            }
            _ => code.push(c),
        }
        i += 1;
    }
    Scan {
        open: in_backtick || !stack.is_empty(),
        code,
        mismatched: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_statements_are_complete() {
        for s in [
            "1 + 1",
            "let x = 1;",
            "print(x)",
            "let ds = open_dataset(\"a.nc\");",
            "x.mean(\"time\").compute()",
            "let f = |x| x + 1;",
            "if a { 1 } else { 2 }",
            "#{a: 1, b: [1, 2]}",
            "x",
            "x // a comment",
            "x /* a ( comment */",
            "fn f(x) { x * 2 }",
            "let s = \"a \\\" quote ( inside\";",
            "let c = '(';",
            "let c = '\\'';",
            "let t = `multi ${x + 1} line`;",
            "exit",
            "a[1]",
            "-1",
            "x.begin",
            "",
        ] {
            assert!(is_complete(s), "{s:?} should be complete");
        }
    }

    #[test]
    fn open_brackets_strings_and_comments_continue() {
        for s in [
            "let m = ds.air.mean(\"time\"",
            "[1, 2,",
            "fn f(x) {",
            "#{a: 1,",
            "if a {\n  1\n} else {",
            "let s = \"unterminated",
            "let s = \"ends with escaped quote \\\"",
            "let t = `multi\nline",
            "let t = `a ${ f(1",
            "x /* open comment",
            "x /* nested /* twice */ still open",
            "print((1 + 2)",
        ] {
            assert!(!is_complete(s), "{s:?} should be incomplete");
        }
    }

    #[test]
    fn a_trailing_operator_or_keyword_continues() {
        for s in [
            "x +",
            "x -",
            "x *",
            "x /",
            "x %",
            "x ==",
            "x &&",
            "x ||",
            "let y =",
            "x ??",
            "a,",
            "ds.air.",
            "let f = |x|",
            "y += ",
            "a !=",
            "a >",
            "math::",
            "if a { 1 } else",
            "for i in",
            "let",
            "x // comment\n  +",
            "x + // comment",
        ] {
            assert!(!is_complete(s), "{s:?} should be incomplete");
        }
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        assert!(is_complete("print(\"((((\")"));
        assert!(is_complete("print(`[[[`)"));
        assert!(is_complete("print(1) // (((("));
        assert!(is_complete("print(1) /* {{{ */"));
        assert!(is_complete("print('[')"));
        assert!(!is_complete("print(\")\""));
        assert!(!is_complete("print(1 /* ) */"));
        // A `}` inside an interpolation's string does not end it.
        assert!(is_complete("`a ${ \"}\" } b`"));
    }

    #[test]
    fn a_stray_closing_bracket_is_left_to_the_parser() {
        assert!(is_complete("x)"));
        assert!(is_complete("f(]"));
        assert!(is_complete("}"));
        assert!(is_complete("(x +]"));
    }

    #[test]
    fn blank_means_only_spaces_and_comments() {
        assert!(is_blank(""));
        assert!(is_blank("   \n\t"));
        assert!(is_blank("// just a comment"));
        assert!(is_blank("/* a */ // b"));
        assert!(!is_blank("x"));
        assert!(!is_blank("/* open"));
        assert!(!is_blank("\"\""));
    }

    #[test]
    fn lines_that_can_only_continue() {
        for s in [
            "  .mean(\"time\")",
            "?.x",
            "else { 2 }",
            "  && b",
            "+ 1",
            "== 2",
        ] {
            assert!(continues(s), "{s:?} continues");
        }
        for s in [
            "let x = 1;",
            "elsewhere",
            "// a comment",
            "/* a comment */",
            "-1",
            "..",
            "|| 1",
            "x",
        ] {
            assert!(!continues(s), "{s:?} does not continue");
        }
    }

    #[test]
    fn semicolons_are_seen_past_comments() {
        assert!(ends_with_semicolon("x; // done"));
        assert!(!ends_with_semicolon("x // ;"));
        assert!(!ends_with_semicolon("\";\""));
    }
}
