//! Placeholder: replaced by the expression-language branch.
use std::ops::Range;
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Str(String),
    Multi(Vec<String>),
}
pub trait Attributes {
    fn get(&self, name: &str) -> Value;
}
#[derive(Debug)]
pub struct Expr {
    attrs: Vec<(String, Range<usize>)>,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub span: Range<usize>,
    pub message: String,
    pub hint: Option<String>,
}
#[derive(Debug, thiserror::Error)]
#[error("unsupported")]
pub struct EvalError;
pub fn parse(src: &str) -> Result<Expr, Vec<ExprError>> {
    let mut attrs = Vec::new();
    let mut i = 0;
    while let Some(s) = src[i..].find('[') {
        let st = i + s;
        let Some(e) = src[st..].find(']') else { break };
        attrs.push((src[st + 1..st + e].to_string(), st + 1..st + e));
        i = st + e;
    }
    Ok(Expr { attrs })
}
impl Expr {
    pub fn eval(&self, _attrs: &dyn Attributes) -> Result<Value, EvalError> {
        Err(EvalError)
    }
    pub fn attributes(&self) -> Vec<(&str, Range<usize>)> {
        self.attrs
            .iter()
            .map(|(a, r)| (a.as_str(), r.clone()))
            .collect()
    }
}
