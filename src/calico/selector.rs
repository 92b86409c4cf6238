//! Validator for Calico's label selector syntax (IPPool `nodeSelector`,
//! `namespaceSelector`), following libcalico-go's tokenizer and parser:
//!
//! ```text
//! or      := and ('||' and)*
//! and     := unary ('&&' unary)*
//! unary   := '!'* primary
//! primary := 'all()' | 'has(' key ')' | '(' or ')' | key op
//! op      := '==' str | '!=' str | 'contains' str | 'starts with' str
//!          | 'ends with' str | 'in' set | 'not in' set
//! set     := '{' [str (',' str)* [',']] '}'
//! str     := '…' | "…"          (no escapes)
//! ```
//!
//! Like Calico, only spaces and tabs count as whitespace. Unlike Calico we also
//! require label keys to be valid Kubernetes label keys (`[prefix/]name`): a
//! key no node can carry makes the selector silently match nothing (or
//! everything, under `!`), which is always a typo.

use crate::validate::Finding;

/// Checks `s` as a Calico selector; the error names the column of the problem.
pub fn validate_selector(field: &str, s: &str) -> Result<(), Finding> {
    if s.trim_matches([' ', '\t']).is_empty() {
        return Err(Finding::error(
            field,
            "the selector is empty: Calico reads an empty selector as all(), so this is \
             ambiguous, and an empty value in YAML is often a templating mistake that \
             silently widens the pool to every node.",
            "use all() to select every node, or write the selector you meant, \
             e.g. kubernetes.io/os == 'linux'.",
        ));
    }
    let mut p = Parser {
        s,
        pos: 0,
        depth: 0,
    };
    let result = p.or().and_then(|()| {
        p.skip_ws();
        match p.peek() {
            None => Ok(()),
            Some(_) => Err(p.err(
                p.pos,
                "unexpected content after a complete expression",
                "join the terms with && or ||, and quote values: k == 'a' && j == 'b'",
            )),
        }
    });
    // The same syntax selects nodes (nodeSelector) or namespaces (namespaceSelector).
    let whom = if field.contains("namespace") {
        "namespace"
    } else {
        "node"
    };
    result.map_err(|e| {
        let col = s[..e.pos].chars().count() + 1;
        let near: String = s[e.pos..].chars().take(12).collect();
        let near = if near.is_empty() {
            "end of input".to_string()
        } else {
            format!("'{near}'")
        };
        Finding::error(
            field,
            format!(
                "invalid selector \"{s}\": {} at column {col} (near {near}). Calico cannot \
                 parse it: the projectcalico.org/v3 API rejects the object, and a \
                 crd.projectcalico.org/v1 object is stored unchecked, so IPAM cannot evaluate \
                 it and no {whom} gets addresses from this pool.",
                e.what
            ),
            e.fix.replace("every node", &format!("every {whom}")),
        )
    })
}

struct SyntaxError {
    pos: usize,
    what: String,
    fix: String,
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    /// Open parentheses: bounded, so hostile input cannot overflow the stack.
    depth: usize,
}

/// Far beyond any real selector; deep enough nesting would crash the process.
const MAX_DEPTH: usize = 100;

/// Characters of a label key as Calico's tokenizer reads them.
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    fn err(&self, pos: usize, what: impl Into<String>, fix: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos,
            what: what.into(),
            fix: fix.into(),
        }
    }

    /// Consumes `kw` if it is next and not followed by more key characters.
    fn keyword(&mut self, kw: &str) -> bool {
        let rest = self.rest();
        if rest.starts_with(kw) && !rest[kw.len()..].starts_with(is_key_char) {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<(), SyntaxError> {
        self.and()?;
        loop {
            self.skip_ws();
            if self.rest().starts_with("||") {
                self.pos += 2;
                self.and()?;
            } else if self.rest().starts_with('|') {
                return Err(self.err(self.pos, "expected ||", "write || for 'or'"));
            } else {
                return Ok(());
            }
        }
    }

    fn and(&mut self) -> Result<(), SyntaxError> {
        self.unary()?;
        loop {
            self.skip_ws();
            if self.rest().starts_with("&&") {
                self.pos += 2;
                self.unary()?;
            } else if self.rest().starts_with('&') {
                return Err(self.err(self.pos, "expected &&", "write && for 'and'"));
            } else {
                return Ok(());
            }
        }
    }

    fn unary(&mut self) -> Result<(), SyntaxError> {
        loop {
            self.skip_ws();
            if self.rest().starts_with("!=") {
                return Err(self.err(
                    self.pos,
                    "'!=' needs a label key on its left",
                    "write key != 'value'",
                ));
            }
            if !self.rest().starts_with('!') {
                return self.primary();
            }
            self.pos += 1;
        }
    }

    fn primary(&mut self) -> Result<(), SyntaxError> {
        self.skip_ws();
        let start = self.pos;
        let rest = self.rest();
        // Calico matches these with their '(' attached: "has (k)" is not has().
        if rest.starts_with("all(") {
            self.pos += 4;
            self.skip_ws();
            return self.close_paren(start, "all() takes no arguments", "write all()");
        }
        if rest.starts_with("global(") {
            return Err(self.err(
                start,
                "global() is not allowed here: it only has a meaning in network policy \
                 namespaceSelectors, and Calico's validation rejects it in IP pool selectors",
                "use all() to select every node, or a label expression",
            ));
        }
        if rest.starts_with("has(") {
            self.pos += 4;
            self.skip_ws();
            if !self.peek().is_some_and(is_key_char) {
                return Err(self.err(
                    self.pos,
                    "no label name in has( expression",
                    "write has(label-key), without quotes",
                ));
            }
            self.key()?;
            self.skip_ws();
            return self.close_paren(start, "no closing ')' after has(", "write has(label-key)");
        }
        match self.peek() {
            Some('(') => {
                if self.depth >= MAX_DEPTH {
                    return Err(self.err(
                        start,
                        format!("parentheses nested deeper than {MAX_DEPTH}"),
                        "simplify the selector",
                    ));
                }
                self.depth += 1;
                self.pos += 1;
                self.or()?;
                self.depth -= 1;
                self.skip_ws();
                self.close_paren(
                    start,
                    &format!(
                        "expected ) to close the '(' at column {}",
                        self.s[..start].chars().count() + 1
                    ),
                    "balance the parentheses",
                )
            }
            Some(c) if is_key_char(c) => {
                let key = self.key()?;
                self.operator(key)
            }
            None => Err(self.err(
                start,
                "unexpected end of selector, expected an expression",
                "complete the expression after the last operator, or remove that operator",
            )),
            Some('\n' | '\r') => Err(self.err(
                start,
                "line breaks are not allowed in a selector (Calico only skips spaces and tabs)",
                "write the selector on one line; in YAML use a plain or quoted scalar, not a \
                 literal block (|)",
            )),
            Some('\'' | '"') => Err(self.err(
                start,
                "a quoted value must follow a label key and an operator",
                "write key == 'value'",
            )),
            Some(c) => Err(self.err(
                start,
                format!("unexpected character '{c}'"),
                "a term is all(), has(key), key == 'value', key in {'a', 'b'}, … combined with \
                 !, && and || and parentheses",
            )),
        }
    }

    fn close_paren(&mut self, open: usize, what: &str, fix: &str) -> Result<(), SyntaxError> {
        if self.rest().starts_with(')') {
            self.pos += 1;
            Ok(())
        } else {
            let at = if self.pos >= self.s.len() {
                open
            } else {
                self.pos
            };
            Err(self.err(at, what, fix))
        }
    }

    /// Reads a label key and checks it is a valid Kubernetes label key.
    fn key(&mut self) -> Result<&'a str, SyntaxError> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !is_key_char(c))
            .unwrap_or(self.rest().len());
        self.pos += len;
        let key: &'a str = &self.s[start..self.pos];
        if let Some(problem) = label_key_problem(key) {
            return Err(self.err(
                start,
                format!(
                    "'{key}' is not a valid Kubernetes label key: {problem}; no node can carry it"
                ),
                "use a key of the form [dns-prefix/]name, e.g. kubernetes.io/os or \
                 topology.kubernetes.io/zone",
            ));
        }
        Ok(key)
    }

    fn operator(&mut self, key: &str) -> Result<(), SyntaxError> {
        self.skip_ws();
        let at = self.pos;
        let rest = self.rest();
        if rest.starts_with("==") || rest.starts_with("!=") {
            self.pos += 2;
            return self.string(key);
        }
        if rest.starts_with('=') {
            return Err(self.err(at, "expected ==", format!("write {key} == 'value'")));
        }
        if self.keyword("contains") {
            return self.string(key);
        }
        for (first, op) in [("starts", "starts with"), ("ends", "ends with")] {
            if self.keyword(first) {
                self.skip_ws();
                if !self.keyword("with") {
                    return Err(self.err(
                        self.pos,
                        format!("expected '{op}'"),
                        format!("write {key} {op} 'value'"),
                    ));
                }
                return self.string(key);
            }
        }
        if self.keyword("not") {
            self.skip_ws();
            if !self.keyword("in") {
                return Err(self.err(
                    self.pos,
                    "expected 'not in'",
                    format!("write {key} not in {{'a', 'b'}}, or !has({key})"),
                ));
            }
            return self.set(key);
        }
        if self.keyword("in") {
            return self.set(key);
        }
        if self.peek().is_none_or(|c| matches!(c, ')' | '&' | '|')) {
            return Err(self.err(
                at,
                format!("label '{key}' has no operator"),
                format!(
                    "compare it (==, !=, in, not in, contains, starts with, ends with) or \
                     test for it with has({key})"
                ),
            ));
        }
        Err(self.err(
            at,
            format!("unexpected characters after label '{key}', was expecting an operator"),
            format!("write {key} == 'value' (operators: ==, !=, in, not in, contains, starts with, ends with)"),
        ))
    }

    fn string(&mut self, key: &str) -> Result<(), SyntaxError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(q @ ('\'' | '"')) => match self.rest()[1..].find(q) {
                Some(end) => {
                    self.pos += end + 2;
                    Ok(())
                }
                None => Err(self.err(
                    start,
                    "unterminated string",
                    format!("close the value with a matching {q}"),
                )),
            },
            Some(c) if is_key_char(c) => Err(self.err(
                start,
                "expected string: values must be quoted",
                format!("quote the value: {key} == 'value'"),
            )),
            _ => Err(self.err(
                start,
                "expected string",
                format!("give a quoted value: {key} == 'value'"),
            )),
        }
    }

    fn set(&mut self, key: &str) -> Result<(), SyntaxError> {
        self.skip_ws();
        let fix = format!("write {key} in {{'a', 'b'}}");
        if !self.rest().starts_with('{') {
            return Err(self.err(self.pos, "expected set literal", fix));
        }
        let open = self.pos;
        self.pos += 1;
        loop {
            self.skip_ws();
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Ok(());
                }
                None => return Err(self.err(open, "expected } to close the set", fix)),
                _ => self.string(key)?,
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                None => return Err(self.err(open, "expected } to close the set", fix)),
                Some(_) => {
                    return Err(self.err(self.pos, "expected ',' or '}' in the set", fix));
                }
            }
        }
    }
}

/// Why `key` is not a Kubernetes qualified label key, if it is not.
fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if name.contains('/') {
            return Some("only one '/' is allowed, between prefix and name".into());
        }
        if p.is_empty() {
            return Some("the prefix before '/' is empty".into());
        }
        if p.len() > 253 {
            return Some("the prefix must be no more than 253 characters".into());
        }
        if !crate::kube::names::is_dns_subdomain(p) {
            return Some(format!(
                "the prefix '{p}' must be a DNS subdomain (lower case alphanumerics, '-' and \
                 '.', starting and ending alphanumeric)"
            ));
        }
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    if name.len() > 63 {
        return Some("the name part must be no more than 63 characters".into());
    }
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return Some("the name part must start and end with an alphanumeric character".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) {
        if let Err(f) = validate_selector("node_selector", s) {
            panic!("{s:?} should be valid: {}", f.problem);
        }
    }

    fn bad(s: &str, what: &str, col: usize) -> Finding {
        let f = validate_selector("node_selector", s).expect_err(s);
        assert_eq!(f.field, "node_selector");
        assert!(f.is_error());
        assert!(f.problem.contains(what), "{s:?}: {}", f.problem);
        assert!(
            f.problem.contains(&format!("at column {col} ")),
            "{s:?}: want column {col}: {}",
            f.problem
        );
        f
    }

    #[test]
    fn accepts_valid_selectors() {
        for s in [
            "all()",
            "all( )",
            " all() ",
            "\tall()\t",
            "k == 'v'",
            "k=='v'",
            "k != \"v\"",
            "k == ''",
            "has(k)",
            "has( k )",
            "!has(k)",
            "!!has(k)",
            "! has(k)",
            "!all()",
            "k in {'a', 'b'}",
            "k in {'a','b',}",
            "k in {}",
            "k in{'a'}",
            "k not in {\"a\"}",
            "k not   in {'a'}",
            "k contains 's'",
            "k starts with 's'",
            "k starts  with 's'",
            "k ends with 's'",
            "k contains's'",
            "a == 'x' && b == 'y'",
            "a == 'x' || b == 'y' && c == 'z'",
            "(a == 'x' || b == 'y') && !(c in {'z'})",
            "((has(a)))",
            "example.com/key == 'v'",
            "kubernetes.io/os == 'linux'",
            "topology.kubernetes.io/zone in {'eu-west-1a', 'eu-west-1b'}",
            "node-role.kubernetes.io/worker == ''",
            "my_key.v-1 == 'x y'",
            "Key == 'v'",
            "has(projectcalico.org/name)",
            "all == 'x'",
            "has == 'x'",
            "in in {'a'}",
            "k == 'it\"s'",
            "k == 'v' ",
        ] {
            ok(s);
        }
    }

    #[test]
    fn rejects_empty_with_all_fix() {
        for s in ["", "   ", "\t"] {
            let f = validate_selector("node_selector", s).unwrap_err();
            assert_eq!(f.field, "node_selector");
            assert!(f.problem.contains("empty"));
            assert!(f.fix.contains("use all()"), "{}", f.fix);
        }
    }

    #[test]
    fn rejects_global() {
        let f = bad("global()", "global() is not allowed", 1);
        assert!(f.fix.contains("all()"));
        bad("has(a) && global()", "global() is not allowed", 11);
    }

    #[test]
    fn rejects_unquoted_values() {
        let f = bad("k == v", "expected string", 6);
        assert!(f.fix.contains("k == 'value'"), "{}", f.fix);
        bad("k in {a}", "expected string", 7);
    }

    #[test]
    fn rejects_bad_operators() {
        let f = bad("k = 'v'", "expected ==", 3);
        assert!(f.fix.contains("k == 'value'"));
        bad("k === 'v'", "expected string", 5);
        bad(
            "k like 'v'",
            "unexpected characters after label 'k', was expecting an operator",
            3,
        );
        bad("k starts 'v'", "expected 'starts with'", 10);
        bad("k ends 'v'", "expected 'ends with'", 8);
        bad("k not 'v'", "expected 'not in'", 7);
        bad("k inside {'a'}", "unexpected characters after label 'k'", 3);
        bad("k", "label 'k' has no operator", 2);
        bad("a == 'x' && k", "label 'k' has no operator", 14);
        bad("k in 'a'", "expected set literal", 6);
        bad("!= 'a'", "'!=' needs a label key", 1);
    }

    #[test]
    fn rejects_bad_boolean_structure() {
        bad("a == 'x' & b == 'y'", "expected &&", 10);
        bad("a == 'x' | b == 'y'", "expected ||", 10);
        bad("a == 'x' &&", "unexpected end of selector", 12);
        bad("|| a == 'x'", "unexpected character '|'", 1);
        bad(
            "a == 'x' b == 'y'",
            "unexpected content after a complete expression",
            10,
        );
        bad("a == 'x' and b == 'y'", "unexpected content after", 10);
        bad("!", "unexpected end of selector", 2);
    }

    #[test]
    fn rejects_unbalanced_parentheses() {
        bad("(a == 'x'", "expected ) to close the '(' at column 1", 1);
        bad("a == 'x')", "unexpected content after", 9);
        bad("()", "unexpected character ')'", 2);
        bad("all(", "all() takes no arguments", 1);
        bad("all(x)", "all() takes no arguments", 5);
        bad("has(k", "no closing ')' after has(", 1);
        bad("has()", "no label name in has( expression", 5);
        bad("has('k')", "no label name in has( expression", 5);
        bad("has (k)", "unexpected characters after label 'has'", 5);
    }

    #[test]
    fn rejects_bad_strings_and_sets() {
        bad("k == 'v", "unterminated string", 6);
        bad("k == \"v'", "unterminated string", 6);
        bad("k in {'a'", "expected } to close the set", 6);
        bad("k in {'a' 'b'}", "expected ',' or '}'", 11);
        bad("k in {'a',,'b'}", "expected string", 11);
        bad("'v' == k", "a quoted value must follow a label key", 1);
    }

    #[test]
    fn rejects_invalid_label_keys() {
        bad("a/b/c == 'x'", "only one '/' is allowed", 1);
        bad("/k == 'x'", "prefix before '/' is empty", 1);
        bad("k/ == 'x'", "name part is empty", 1);
        bad("Example.com/k == 'x'", "must be a DNS subdomain", 1);
        bad("-k == 'x'", "start and end with an alphanumeric", 1);
        bad(
            "has(a) && has(k.)",
            "start and end with an alphanumeric",
            15,
        );
        let long = "k".repeat(64);
        bad(&format!("{long} == 'x'"), "no more than 63 characters", 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let ok_depth = format!("{}all(){}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(validate_selector("f", &ok_depth).is_ok());
        // Found by the fuzzer: 50000 '(' overflowed the stack.
        let e = validate_selector("f", &"(".repeat(50_000)).unwrap_err();
        assert!(
            e.problem.contains("nested deeper than 100"),
            "{}",
            e.problem
        );
    }

    #[test]
    fn rejects_line_breaks_and_odd_characters() {
        bad("a == 'x' &&\nb == 'y'", "line breaks are not allowed", 12);
        bad("k == 'x' && @", "unexpected character '@'", 13);
    }
}
