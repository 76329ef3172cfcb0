//! Recursive-descent parser from tokens to a raw syntax tree.
//!
//! The raw tree keeps function names as written; whether they exist, and with how many
//! arguments, is the checker's business (`check.rs`). The parser recovers from errors (skipping
//! to the next `,` or `)`) so one typo doesn't hide the next. It must never panic, and never
//! recurse deeper than [`MAX_DEPTH`] calls, whatever the input.

use std::ops::Range;

use super::ExprError;
use super::functions;
use super::lexer::{CmpOp, Lexed, Tok, Token};

/// How deeply calls may nest. Real mappings nest a handful of levels; the limit exists so a
/// pathological 10,000-character `Not(Not(…` can't overflow the stack.
pub(crate) const MAX_DEPTH: usize = 64;

#[derive(Debug)]
pub(crate) enum Raw {
    Attr {
        name: String,
        span: Range<usize>,
    },
    /// A string or number literal; Entra has no other scalar type.
    Lit {
        value: String,
        span: Range<usize>,
    },
    Call {
        name: String,
        name_span: Range<usize>,
        args: Vec<RawArg>,
        span: Range<usize>,
        /// False when the input ended before `)` or tokens had to be skipped to recover; the
        /// argument count then says nothing about what the author meant.
        intact: bool,
    },
    Compare {
        op: CmpOp,
        lhs: Box<Raw>,
        rhs: Box<Raw>,
        span: Range<usize>,
    },
    /// Something already reported; the checker skips it silently.
    Error,
}

#[derive(Debug)]
pub(crate) enum RawArg {
    /// An empty positional argument (`Replace([x], , "re", …)`). The span is the `,` or `)`
    /// that ends it, so a "missing argument" error has somewhere to point.
    Empty(Range<usize>),
    Expr(Raw),
}

pub(crate) fn parse(lexed: &Lexed, src_len: usize) -> (Raw, Vec<ExprError>) {
    let mut p = Parser {
        toks: &lexed.tokens,
        pos: 0,
        errors: lexed.errors.clone(),
        suppress_eof: lexed.hit_eof_in_literal,
        depth: 0,
    };
    let raw = p.parse_top(src_len);
    (raw, p.errors)
}

struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
    errors: Vec<ExprError>,
    /// Set once something has already explained why the input ended early.
    suppress_eof: bool,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The lexer always ends the stream with Eof and bump() never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>, hint: Option<String>) {
        self.errors.push(ExprError {
            span,
            message: message.into(),
            hint,
        });
    }

    /// An error caused by the input ending; reported once, and not at all if an unterminated
    /// literal already explains it.
    fn eof_error(&mut self, span: Range<usize>, message: impl Into<String>, hint: Option<String>) {
        if !self.suppress_eof {
            self.error(span, message, hint);
            self.suppress_eof = true;
        }
    }

    fn parse_top(&mut self, src_len: usize) -> Raw {
        if self.peek().tok == Tok::Eof {
            if self.errors.is_empty() {
                self.error(
                    0..src_len,
                    "empty expression",
                    Some("write an attribute like [mail], a \"string\", or a function call".into()),
                );
            }
            return Raw::Error;
        }
        let before = self.errors.len();
        let raw = self.parse_expr();
        let t = self.peek().clone();
        let clean = self.errors.len() == before && !matches!(raw, Raw::Error);
        if clean && t.tok != Tok::Eof && t.tok != Tok::Invalid {
            let hint = match t.tok {
                Tok::RParen => Some("this ')' has no matching '('".to_string()),
                Tok::Comma => Some("commas separate arguments inside a function call".to_string()),
                _ => Some("an expression is a single value or function call".to_string()),
            };
            self.error(
                t.span.clone(),
                format!(
                    "unexpected {} after the end of the expression",
                    t.describe()
                ),
                hint,
            );
        }
        raw
    }

    /// `operand (op operand)?`: comparisons are only meaningful inside IIF but are accepted
    /// wherever a value is (Entra's `CBool([a]=[b])`).
    fn parse_expr(&mut self) -> Raw {
        let lhs = self.parse_operand();
        let Tok::Cmp(op) = self.peek().tok else {
            return lhs;
        };
        let op_tok = self.bump();
        if matches!(self.peek().tok, Tok::Comma | Tok::RParen | Tok::Eof) {
            self.error(
                op_tok.span,
                format!("expected a value after '{}'", op.as_str()),
                None,
            );
            return Raw::Error;
        }
        let rhs = self.parse_operand();
        if matches!(rhs, Raw::Error) {
            return Raw::Error;
        }
        if let Tok::Cmp(op2) = self.peek().tok {
            let t = self.bump();
            self.error(
                t.span,
                format!(
                    "unexpected '{}': comparisons can't be chained",
                    op2.as_str()
                ),
                Some("Entra has no AND/OR; nest IIF calls instead".to_string()),
            );
            let _ = self.parse_operand();
            return Raw::Error;
        }
        let span = span_of(&lhs).unwrap_or(op_tok.span.clone()).start
            ..span_of(&rhs).unwrap_or(op_tok.span).end;
        Raw::Compare {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            span,
        }
    }

    fn parse_operand(&mut self) -> Raw {
        let t = self.peek().clone();
        match t.tok {
            Tok::Attr(name) => {
                self.bump();
                Raw::Attr { name, span: t.span }
            }
            Tok::Str(value) | Tok::Num(value) => {
                self.bump();
                Raw::Lit {
                    value,
                    span: t.span,
                }
            }
            Tok::Ident(name) => {
                self.bump();
                if self.peek().tok == Tok::LParen {
                    return self.parse_call(name, t.span);
                }
                let hint = if name.eq_ignore_ascii_case("true")
                    || name.eq_ignore_ascii_case("false")
                {
                    format!("booleans are strings in Entra: write \"{name}\"")
                } else if let Some(spec) = functions::lookup(&name) {
                    format!("call it as {}", spec.usage())
                } else {
                    format!(
                        "write attributes in brackets ([{name}]) and text in double quotes (\"{name}\")"
                    )
                };
                self.error(t.span, format!("expected '(' after `{name}`"), Some(hint));
                Raw::Error
            }
            Tok::LParen => {
                self.error(
                    t.span,
                    "unexpected '('",
                    Some("parentheses only follow a function name".to_string()),
                );
                self.bump();
                self.skip_group();
                Raw::Error
            }
            Tok::Eof => {
                self.eof_error(
                    t.span,
                    "unexpected end of expression",
                    Some("expected an attribute, a string or a function call".to_string()),
                );
                Raw::Error
            }
            Tok::RParen | Tok::Comma | Tok::Cmp(_) => {
                // Not consumed: the caller's separator handling or parse_expr takes it from here.
                self.error(
                    t.span.clone(),
                    format!("expected a value, found {}", t.describe()),
                    None,
                );
                Raw::Error
            }
            Tok::Invalid => {
                self.bump();
                Raw::Error
            }
        }
    }

    /// Called with `(` next.
    fn parse_call(&mut self, name: String, name_span: Range<usize>) -> Raw {
        let open = self.bump();
        if self.depth >= MAX_DEPTH {
            self.error(
                name_span,
                format!("expression nests more than {MAX_DEPTH} function calls deep"),
                None,
            );
            self.skip_group();
            return Raw::Error;
        }
        self.depth += 1;
        let mut args = Vec::new();
        let end;
        let mut closed = false;
        let mut damaged = false;
        if self.peek().tok == Tok::RParen {
            end = self.bump().span.end;
            closed = true;
        } else {
            'args: loop {
                let before = self.errors.len();
                let t = self.peek().clone();
                let arg = match t.tok {
                    Tok::Comma | Tok::RParen | Tok::Eof => RawArg::Empty(t.span),
                    _ => RawArg::Expr(self.parse_expr()),
                };
                // A Raw::Error always comes with an error already reported (by the lexer
                // or the parser), so one bad argument yields one message, not a cascade.
                let mut reported =
                    self.errors.len() > before || matches!(arg, RawArg::Expr(Raw::Error));
                args.push(arg);
                loop {
                    let t = self.peek().clone();
                    match t.tok {
                        Tok::Comma => {
                            self.bump();
                            continue 'args;
                        }
                        Tok::RParen => {
                            end = self.bump().span.end;
                            closed = true;
                            break 'args;
                        }
                        Tok::Eof => {
                            self.eof_error(
                                open.span.clone(),
                                "unclosed '('",
                                Some(format!("add ')' to close the call to {name}")),
                            );
                            end = t.span.end;
                            break 'args;
                        }
                        _ => {
                            if !reported && t.tok != Tok::Invalid {
                                let hint = match &t.tok {
                                    Tok::Ident(w)
                                        if ["and", "or"].contains(&w.to_lowercase().as_str()) =>
                                    {
                                        "Entra has no AND/OR; nest IIF calls instead"
                                    }
                                    _ => "separate arguments with ','",
                                };
                                self.error(
                                    t.span.clone(),
                                    format!("expected ',' or ')', found {}", t.describe()),
                                    Some(hint.to_string()),
                                );
                            }
                            reported = true;
                            damaged = true;
                            self.skip_to_separator();
                        }
                    }
                }
            }
        }
        self.depth -= 1;
        Raw::Call {
            span: name_span.start..end,
            name,
            name_span,
            args,
            intact: closed && !damaged,
        }
    }

    /// Skips tokens up to the next `,` or `)` at this nesting level (not consuming it).
    fn skip_to_separator(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek().tok {
                Tok::Eof => return,
                Tok::Comma | Tok::RParen if depth == 0 => return,
                Tok::LParen => depth += 1,
                Tok::RParen => depth -= 1,
                _ => {}
            }
            self.bump();
        }
    }

    /// Skips to just past the `)` matching a `(` that was already consumed.
    fn skip_group(&mut self) {
        let mut depth = 1usize;
        loop {
            match self.bump().tok {
                Tok::Eof => return,
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

fn span_of(raw: &Raw) -> Option<Range<usize>> {
    match raw {
        Raw::Attr { span, .. }
        | Raw::Lit { span, .. }
        | Raw::Call { span, .. }
        | Raw::Compare { span, .. } => Some(span.clone()),
        Raw::Error => None,
    }
}
