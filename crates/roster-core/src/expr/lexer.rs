//! Turns expression source text into tokens with byte spans.
//!
//! The lexer never gives up: a bad character or an unterminated literal becomes a diagnostic
//! and lexing carries on, so the parser can still report problems further along. It must never
//! panic or slice a string off a char boundary, whatever the input.

use std::ops::Range;

use super::ExprError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A function name (`Left`); only meaningful when followed by `(`.
    Ident(String),
    /// `[name]`, brackets stripped.
    Attr(String),
    /// `"text"`, escapes resolved.
    Str(String),
    /// `3`, `-1`, `1.5`: Entra writes numeric arguments bare (`Left([x], 3)`).
    Num(String),
    LParen,
    RParen,
    Comma,
    Cmp(CmpOp),
    /// Something the lexer already reported; the parser skips it without a second message.
    Invalid,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

impl Token {
    /// How a token is named in "unexpected …" messages.
    pub(crate) fn describe(&self) -> String {
        match &self.tok {
            Tok::Ident(name) => format!("`{name}`"),
            Tok::Attr(name) => format!("attribute `[{name}]`"),
            Tok::Str(_) => "string literal".to_string(),
            Tok::Num(n) => format!("number `{n}`"),
            Tok::LParen => "'('".to_string(),
            Tok::RParen => "')'".to_string(),
            Tok::Comma => "','".to_string(),
            Tok::Cmp(op) => format!("'{}'", op.as_str()),
            Tok::Invalid => "invalid token".to_string(),
            Tok::Eof => "end of expression".to_string(),
        }
    }
}

pub(crate) struct Lexed {
    /// Always ends with exactly one `Tok::Eof`.
    pub tokens: Vec<Token>,
    pub errors: Vec<ExprError>,
    /// An unterminated literal swallowed the rest of the input; the parser's complaints about
    /// the missing `)` would only repeat that error.
    pub hit_eof_in_literal: bool,
}

fn err(span: Range<usize>, message: impl Into<String>, hint: Option<&str>) -> ExprError {
    ExprError {
        span,
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

/// Characters allowed inside `[...]`, e.g. `[employeeOrgData.division]`, `[extension_a1b2_x-y]`.
fn is_attr_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

pub(crate) fn lex(src: &str) -> Lexed {
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    let mut hit_eof_in_literal = false;
    let mut it = src.char_indices().peekable();
    let end_of = |i: usize, c: char| i + c.len_utf8();

    while let Some((start, c)) = it.next() {
        let push = |tokens: &mut Vec<Token>, tok: Tok, end: usize| {
            tokens.push(Token {
                tok,
                span: start..end,
            })
        };
        match c {
            c if c.is_whitespace() => {}
            '(' => push(&mut tokens, Tok::LParen, start + 1),
            ')' => push(&mut tokens, Tok::RParen, start + 1),
            ',' => push(&mut tokens, Tok::Comma, start + 1),
            '=' => {
                if it.next_if(|&(_, c)| c == '=').is_some() {
                    errors.push(err(
                        start..start + 2,
                        "unexpected '=='",
                        Some("compare with a single '='"),
                    ));
                    push(&mut tokens, Tok::Cmp(CmpOp::Eq), start + 2);
                } else {
                    push(&mut tokens, Tok::Cmp(CmpOp::Eq), start + 1);
                }
            }
            '<' => {
                if it.next_if(|&(_, c)| c == '>').is_some() {
                    push(&mut tokens, Tok::Cmp(CmpOp::Ne), start + 2);
                } else if it.next_if(|&(_, c)| c == '=').is_some() {
                    push(&mut tokens, Tok::Cmp(CmpOp::Le), start + 2);
                } else {
                    push(&mut tokens, Tok::Cmp(CmpOp::Lt), start + 1);
                }
            }
            '>' => {
                if it.next_if(|&(_, c)| c == '=').is_some() {
                    push(&mut tokens, Tok::Cmp(CmpOp::Ge), start + 2);
                } else {
                    push(&mut tokens, Tok::Cmp(CmpOp::Gt), start + 1);
                }
            }
            '!' if it.peek().is_some_and(|&(_, c)| c == '=') => {
                it.next();
                errors.push(err(
                    start..start + 2,
                    "unexpected '!='",
                    Some("write \"not equal\" as '<>'"),
                ));
                push(&mut tokens, Tok::Cmp(CmpOp::Ne), start + 2);
            }
            '"' => {
                let mut value = String::new();
                let mut closed_at = None;
                while let Some((i, c)) = it.next() {
                    match c {
                        '"' => {
                            closed_at = Some(i + 1);
                            break;
                        }
                        '\\' => match it.next_if(|&(_, c)| c == '"' || c == '\\') {
                            Some((_, escaped)) => value.push(escaped),
                            // Entra only defines `\"` and `\\`; any other backslash is kept
                            // as written so regex patterns like "\d+" still mean what they say.
                            None => value.push('\\'),
                        },
                        c => value.push(c),
                    }
                }
                if let Some(end) = closed_at {
                    push(&mut tokens, Tok::Str(value), end);
                } else {
                    hit_eof_in_literal = true;
                    errors.push(err(
                        start..start + 1,
                        "unterminated string literal",
                        Some("close it with '\"'; write \\\" for a quote inside the string"),
                    ));
                    push(&mut tokens, Tok::Str(value), src.len());
                }
            }
            '[' => {
                let mut name_end = start + 1;
                while let Some(&(i, c)) = it.peek() {
                    if !is_attr_char(c) {
                        break;
                    }
                    name_end = end_of(i, c);
                    it.next();
                }
                let name = &src[start + 1..name_end];
                match it.peek().copied() {
                    Some((i, ']')) => {
                        it.next();
                        if name.is_empty() {
                            errors.push(err(
                                start..i + 1,
                                "empty attribute name",
                                Some("write the source attribute's name, e.g. [mail]"),
                            ));
                            push(&mut tokens, Tok::Invalid, i + 1);
                        } else {
                            push(&mut tokens, Tok::Attr(name.to_string()), i + 1);
                        }
                    }
                    Some((i, bad)) if closes_later(&src[i..]) => {
                        // `[given name]`: a stray character inside otherwise fine brackets.
                        errors.push(err(
                            i..end_of(i, bad),
                            format!("unexpected character {bad:?} in attribute name"),
                            Some("attribute names contain only letters, digits, '.', '_' and '-'"),
                        ));
                        // closes_later() promised a ']' ahead.
                        let end = it
                            .by_ref()
                            .find(|&(_, c)| c == ']')
                            .map_or(src.len(), |(i, _)| i + 1);
                        push(&mut tokens, Tok::Invalid, end);
                    }
                    _ => {
                        if it.peek().is_none() {
                            hit_eof_in_literal = true;
                        }
                        errors.push(err(
                            start..start + 1,
                            "unclosed '['",
                            Some("close the attribute name with ']'"),
                        ));
                        push(&mut tokens, Tok::Invalid, name_end);
                    }
                }
            }
            '0'..='9' | '-' if c != '-' || it.peek().is_some_and(|&(_, c)| c.is_ascii_digit()) => {
                let mut end = start + 1;
                let mut seen_dot = false;
                while let Some(&(i, c)) = it.peek() {
                    let take = c.is_ascii_digit()
                        || (c == '.' && !seen_dot && {
                            // Only a dot followed by a digit belongs to the number.
                            src[i + 1..].starts_with(|d: char| d.is_ascii_digit())
                        });
                    if !take {
                        break;
                    }
                    seen_dot |= c == '.';
                    end = i + 1;
                    it.next();
                }
                push(&mut tokens, Tok::Num(src[start..end].to_string()), end);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = start + 1;
                while let Some(&(i, c)) = it.peek() {
                    if !(c.is_ascii_alphanumeric() || c == '_') {
                        break;
                    }
                    end = i + 1;
                    it.next();
                }
                push(&mut tokens, Tok::Ident(src[start..end].to_string()), end);
            }
            other => {
                let hint = match other {
                    '\'' => Some("string literals use double quotes: \"text\""),
                    '\u{201c}' | '\u{201d}' | '\u{201e}' => {
                        Some("use straight double quotes (\"), not typographic ones")
                    }
                    '&' | '+' => Some("concatenate with Append or Join"),
                    ']' => Some("this ']' has no matching '['"),
                    _ => None,
                };
                let end = end_of(start, other);
                errors.push(err(
                    start..end,
                    format!("unexpected character {other:?}"),
                    hint,
                ));
                push(&mut tokens, Tok::Invalid, end);
            }
        }
    }
    tokens.push(Token {
        tok: Tok::Eof,
        span: src.len()..src.len(),
    });
    Lexed {
        tokens,
        errors,
        hit_eof_in_literal,
    }
}

/// Whether a `]` comes before anything that clearly ends an attribute reference (`,`, `)`,
/// `"`, another `[`), i.e. whether the bad character is *inside* the brackets.
fn closes_later(rest: &str) -> bool {
    for c in rest.chars() {
        match c {
            ']' => return true,
            ',' | '(' | ')' | '"' | '[' => return false,
            _ => {}
        }
    }
    false
}
