//! Parsing the path language (the grammar is in the parent module's doc).

use std::fmt;

use super::{Cond, Literal, Path, Step};

/// Why a path does not parse: position (in characters) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) at: usize,
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.at + 1, self.message)
    }
}

/// Parses a path; `%name` must start it.
pub(crate) fn parse(text: &str) -> Result<Path, ParseError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    p.skip_ws();
    if !p.eat('%') {
        return Err(p.error("a path starts with %name, e.g. %subject"));
    }
    let root = p.name().ok_or_else(|| p.error("expected a name after %"))?;
    let steps = p.steps()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error("unexpected character"));
    }
    Ok(Path {
        root,
        steps,
        text: text.to_owned(),
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn error(&self, message: &str) -> ParseError {
        ParseError {
            at: self.pos,
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    fn name(&mut self) -> Option<String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }

    fn steps(&mut self) -> Result<Vec<Step>, ParseError> {
        let mut steps = Vec::new();
        loop {
            self.skip_ws();
            if self.eat('.') {
                self.skip_ws();
                let name = self.name().ok_or_else(|| self.error("expected a name"))?;
                steps.push(self.member(name)?);
            } else if self.eat('[') {
                self.skip_ws();
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits: String = self.chars[start..self.pos].iter().collect();
                let n = digits
                    .parse()
                    .map_err(|_| self.error("expected an index [n]"))?;
                self.expect(']')?;
                steps.push(Step::Index(n));
            } else {
                return Ok(steps);
            }
        }
    }

    /// A field, or a function call when `(` follows the name.
    fn member(&mut self, name: String) -> Result<Step, ParseError> {
        self.skip_ws();
        if !self.eat('(') {
            if name.starts_with('$') {
                return Err(self.error("$this only starts a condition"));
            }
            return Ok(Step::Field(name));
        }
        let step = match name.as_str() {
            "first" => Step::First,
            "last" => Step::Last,
            "count" => Step::Count,
            "exists" => Step::Exists,
            "empty" => Step::Empty,
            "not" => Step::Not,
            "resolve" => Step::Resolve,
            "extension" => Step::Extension(self.string()?),
            "join" => Step::Join(self.string()?),
            "ofType" => {
                self.skip_ws();
                Step::OfType(
                    self.name()
                        .ok_or_else(|| self.error("expected a type name"))?,
                )
            }
            "where" => Step::Where(self.cond()?),
            _ => return Err(self.error(&format!("unknown function {name}()"))),
        };
        self.expect(')')?;
        Ok(step)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.skip_ws();
        if !self.eat('\'') {
            return Err(self.error("expected a 'quoted' string"));
        }
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some('\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('\'' | '\\')) => out.push(c),
                        _ => return Err(self.error("only \\' and \\\\ are escapes")),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let end = self.pos + word.len();
        if end > self.chars.len() {
            return false;
        }
        let candidate: String = self.chars[self.pos..end].iter().collect();
        let boundary = self
            .chars
            .get(end)
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == '_'));
        if candidate == word && boundary {
            self.pos = end;
            true
        } else {
            false
        }
    }

    fn cond(&mut self) -> Result<Cond, ParseError> {
        let mut any = vec![self.and()?];
        while self.keyword("or") {
            any.push(self.and()?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Cond::Or(any)
        })
    }

    fn and(&mut self) -> Result<Cond, ParseError> {
        let mut all = vec![self.atom()?];
        while self.keyword("and") {
            all.push(self.atom()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Cond::And(all)
        })
    }

    fn atom(&mut self) -> Result<Cond, ParseError> {
        self.skip_ws();
        if self.eat('(') {
            let inner = self.cond()?;
            self.expect(')')?;
            return Ok(inner);
        }
        let name = self
            .name()
            .ok_or_else(|| self.error("expected a condition"))?;
        let mut steps = Vec::new();
        if name != "$this" {
            steps.push(self.member(name)?);
        }
        steps.extend(self.steps()?);
        self.skip_ws();
        if self.eat('=') {
            Ok(Cond::Eq(steps, self.literal()?))
        } else if self.eat('!') {
            if !self.eat('=') {
                return Err(self.error("expected '!='"));
            }
            Ok(Cond::Ne(steps, self.literal()?))
        } else {
            Ok(Cond::Test(steps))
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        self.skip_ws();
        if self.peek() == Some('\'') {
            return Ok(Literal::Text(self.string()?));
        }
        if self.keyword("true") {
            return Ok(Literal::Bool(true));
        }
        if self.keyword("false") {
            return Ok(Literal::Bool(false));
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            self.pos += 1;
        }
        if self.pos > start {
            return Ok(Literal::Number(
                self.chars[start..self.pos].iter().collect(),
            ));
        }
        Err(self.error("expected a literal: 'text', true, false or a number"))
    }
}
