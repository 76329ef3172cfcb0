//! Reading, from a live user's JSON text, only the values at the mappings' target paths, in one
//! pass. Parsing the resource into a `Value` tree and looking the paths up in it built every
//! member the paths pass through (B-tree maps of eleven slots) only to drop them: for 100,000
//! users that was about half of the plan's CPU.
//!
//! The values are those [`AttrPath::get`] finds in the whole resource: a member by its exact
//! name, else by the smallest spelling equal to it without ASCII case (the order a `Value`
//! object keeps), the last of repeated names, an extension schema by its exact URN, the first
//! element of a list whose `type` matches, and nothing for a null.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::LiveUser;
use crate::scim::AttrPath;
use crate::scim::path::{get_ci, has_type};

/// The target paths a plan reads from live users, as a tree of the members they pass through.
#[derive(Debug)]
pub(super) struct Reader {
    root: Node,
    /// How many distinct paths (slots) there are.
    slots: usize,
    /// The slot of each path [`Reader::of`] was given, in the order given: equal paths share one.
    slot_of: Vec<usize>,
}

/// What is read from one value on the way along some paths.
#[derive(Debug, Default)]
struct Node {
    /// Slots that take the value whole.
    whole: Vec<usize>,
    /// Members of an object.
    members: Vec<Member>,
    /// Elements of a list: the first whose `type` equals this, without ASCII case.
    typed: Vec<(String, Node)>,
    /// Every slot under this node, cleared when a later member replaces the value it was read
    /// from.
    under: Vec<usize>,
}

#[derive(Debug)]
struct Member {
    name: String,
    /// An extension schema, found by its exact URN only (as `Value::get` finds it).
    exact_only: bool,
    node: Node,
}

impl Node {
    fn member(&mut self, name: &str, exact_only: bool) -> &mut Node {
        let at = match (self.members.iter())
            .position(|m| m.name == name && m.exact_only == exact_only)
        {
            Some(at) => at,
            None => {
                self.members.push(Member {
                    name: name.to_string(),
                    exact_only,
                    node: Node::default(),
                });
                self.members.len() - 1
            }
        };
        &mut self.members[at].node
    }

    fn typed(&mut self, ty: &str) -> &mut Node {
        let at = match self.typed.iter().position(|(t, _)| t == ty) {
            Some(at) => at,
            None => {
                self.typed.push((ty.to_string(), Node::default()));
                self.typed.len() - 1
            }
        };
        &mut self.typed[at].1
    }

    /// Fills in `under`, here and below; returns it.
    fn collect_under(&mut self) -> &[usize] {
        let mut under = self.whole.clone();
        for m in &mut self.members {
            under.extend_from_slice(m.node.collect_under());
        }
        for (_, n) in &mut self.typed {
            under.extend_from_slice(n.collect_under());
        }
        self.under = under;
        &self.under
    }

    /// Reads the slots under this node from a parsed value, as [`AttrPath::get`] would.
    fn eval(&self, v: &Json, out: &mut [Option<Json>]) {
        for &s in &self.whole {
            out[s] = (!v.is_null()).then(|| v.clone());
        }
        for m in &self.members {
            let found = match m.exact_only {
                true => v.get(&m.name),
                false => get_ci(v, &m.name),
            };
            if let Some(found) = found {
                m.node.eval(found, out);
            }
        }
        if let Some(items) = v.as_array() {
            for (ty, node) in &self.typed {
                if let Some(e) = items.iter().find(|e| has_type(e, ty)) {
                    node.eval(e, out);
                }
            }
        }
    }
}

impl Reader {
    /// A reader of `paths`, each given a slot in the order given; equal paths share one.
    pub(super) fn of<'p>(paths: impl IntoIterator<Item = &'p AttrPath>) -> Reader {
        let mut root = Node::default();
        let mut distinct: Vec<&AttrPath> = Vec::new();
        let mut slot_of = Vec::new();
        for p in paths {
            if let Some(slot) = distinct.iter().position(|d| *d == p) {
                slot_of.push(slot);
                continue;
            }
            let slot = distinct.len();
            distinct.push(p);
            slot_of.push(slot);
            let container = match &p.schema {
                Some(urn) => root.member(urn, true),
                None => &mut root,
            };
            let mut node = container.member(&p.attr, false);
            if let Some(ty) = &p.type_filter {
                node = node.typed(ty);
            }
            if let Some(sub) = &p.sub_attr {
                node = node.member(sub, false);
            }
            node.whole.push(slot);
        }
        root.collect_under();
        Reader {
            root,
            slots: distinct.len(),
            slot_of,
        }
    }

    /// The values at the paths in a live user's resource, by slot: see [`Reader::get`].
    pub(super) fn read(&self, live: &LiveUser) -> Vec<Option<Json>> {
        let mut out = vec![None; self.slots];
        let mut scan = Scan {
            text: live.resource_text(),
            at: 0,
        };
        scan.node(&self.root, &mut out);
        out
    }

    /// The value at the `path`-th path given to [`Reader::of`], from what [`Reader::read`]
    /// read: what [`AttrPath::get`] finds in the whole resource.
    pub(super) fn get<'v>(&self, values: &'v [Option<Json>], path: usize) -> Option<&'v Json> {
        values[self.slot_of[path]].as_ref()
    }
}

/// A cursor over JSON text that is known to be valid: a live user's resource text was written
/// by serde_json ([`LiveUser::from_resource`]) or checked by it as the server's text
/// ([`super::UserText::parse`]), so this only finds where values begin and end. Objects on a
/// node's way are read member by member and skipped members are never parsed; the values
/// taken are parsed by serde_json.
struct Scan<'t> {
    text: &'t str,
    at: usize,
}

const INVALID: &str = "a live user's text is valid JSON";

impl<'t> Scan<'t> {
    fn peek(&self) -> u8 {
        self.text.as_bytes()[self.at]
    }

    fn space(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Past the string starting here; whether it holds an escape.
    fn string(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        let mut at = self.at + 1;
        loop {
            at += memchr::memchr2(b'"', b'\\', &bytes[at..]).expect(INVALID);
            if bytes[at] == b'"' {
                break;
            }
            // The character after a backslash is never the closing quote (`\uXXXX`'s digits
            // are neither).
            escaped = true;
            at += 2;
        }
        self.at = at + 1;
        escaped
    }

    /// Past the value starting here.
    fn skip(&mut self) {
        let bytes = self.text.as_bytes();
        match bytes[self.at] {
            b'"' => {
                self.string();
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match bytes[self.at] {
                        b'"' => {
                            self.string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while !matches!(
                    bytes.get(self.at),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.at += 1;
                }
            }
        }
    }

    /// The value starting here, parsed; a string without escapes is taken as it lies.
    fn value(&mut self) -> Json {
        let start = self.at;
        if self.peek() == b'"' {
            if !self.string() {
                return Json::String(self.text[start + 1..self.at - 1].to_string());
            }
        } else {
            self.skip();
        }
        serde_json::from_str(&self.text[start..self.at]).expect(INVALID)
    }

    /// Reads the value starting here along `node` into `out`.
    fn node(&mut self, node: &Node, out: &mut [Option<Json>]) {
        if !node.whole.is_empty() || !node.typed.is_empty() {
            let v = self.value();
            node.eval(&v, out);
        } else if self.peek() == b'{' {
            self.object(&node.members, out);
        } else {
            self.skip();
        }
    }

    /// Reads the object starting here member by member: see [`Best::take`].
    fn object(&mut self, members: &[Member], out: &mut [Option<Json>]) {
        let mut best = vec![Best::None; members.len()];
        let mut taken = Vec::with_capacity(members.len());
        self.at += 1;
        self.space();
        if self.peek() == b'}' {
            self.at += 1;
            return;
        }
        loop {
            self.space();
            let start = self.at;
            let key: Cow<'t, str> = if self.string() {
                Cow::Owned(serde_json::from_str(&self.text[start..self.at]).expect(INVALID))
            } else {
                Cow::Borrowed(&self.text[start + 1..self.at - 1])
            };
            self.space();
            debug_assert_eq!(self.peek(), b':', "{INVALID}");
            self.at += 1;
            self.space();
            taken.clear();
            for (i, m) in members.iter().enumerate() {
                if best[i].take(m, &key) {
                    taken.push(i);
                }
            }
            for &i in &taken {
                for &s in &members[i].node.under {
                    out[s] = None;
                }
            }
            match taken[..] {
                [] => self.skip(),
                [i] => self.node(&members[i].node, out),
                _ => {
                    // Spellings of two members equal without case: the value is read once.
                    let v = self.value();
                    for &i in &taken {
                        members[i].node.eval(&v, out);
                    }
                }
            }
            self.space();
            let next = self.peek();
            self.at += 1;
            match next {
                b',' => {}
                b'}' => return,
                _ => unreachable!("{INVALID}"),
            }
        }
    }
}

/// Which spelling of a member has been read so far.
#[derive(Clone)]
enum Best {
    None,
    Exact,
    /// A spelling other than the name's (which servers seldom send).
    Other(String),
}

impl Best {
    /// Whether `key`'s value replaces what was read for `m`: the exact name always (the last
    /// of repeated ones wins), another spelling while no exact one came and it sorts first.
    fn take(&mut self, m: &Member, key: &str) -> bool {
        if key == m.name {
            *self = Best::Exact;
            return true;
        }
        if m.exact_only || !key.eq_ignore_ascii_case(&m.name) {
            return false;
        }
        match self {
            Best::Exact => return false,
            Best::Other(k) if key > k.as_str() => return false,
            _ => {}
        }
        *self = Best::Other(key.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splitmix::SplitMix64;

    /// The target paths the mappings can have, and paths that share their members.
    const PATHS: [&str; 14] = [
        "userName",
        "title",
        "Title",
        "displayName",
        "name.givenName",
        "name.familyName",
        "name",
        "emails[type eq \"work\"].value",
        "emails[type eq \"WORK\"].primary",
        "emails[type eq \"home\"]",
        "phoneNumbers[type eq \"work\"].value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    ];

    fn paths() -> Vec<AttrPath> {
        PATHS.iter().map(|p| AttrPath::parse(p).unwrap()).collect()
    }

    /// Checks each path's value read from `text` against `AttrPath::get` of the parsed text.
    fn check(reader: &Reader, paths: &[AttrPath], text: &str) {
        let whole: Json = serde_json::from_str(text).unwrap();
        let live = LiveUser::from_text_for_tests(text);
        let values = reader.read(&live);
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(reader.get(&values, i), p.get(&whole), "{p:?} in {text}");
        }
    }

    #[test]
    fn reads_what_the_paths_read_from_the_whole_resource() {
        let paths = paths();
        let reader = Reader::of(&paths);
        for text in [
            r#"{"id":"7","userName":"ada@example.com","title":"Engineer"}"#,
            r#"{"Title":"first","title":"Engineer","TITLE":"third"}"#,
            r#"{"TITLE":"third","Title":"first"}"#,
            r#"{"title":"a","title":"b","TITLE":"c"}"#,
            r#"{"title":null,"Title":"x"}"#,
            r#"{"TiTle":"x","title":null}"#,
            r#"{"tit\u006ce":"escaped","TITLE":"x"}"#,
            r#"{"Emails":[{"type":"work","value":"a@x.io"}],"emails":[{"type":"home","value":"h"}]}"#,
            r#"{"emails":[{"type":"home","value":"h"},{"TYPE":"Work","Value":"w","primary":true},{"type":"work","value":"second"}]}"#,
            r#"{"emails":[{"type":"work","Type":"home","value":"w"},{"Type":"work","type":"home","value":"x"}]}"#,
            r#"{"emails":[1,"s",null,[{"type":"work"}],{"type":"work","value":null,"VALUE":"v"}]}"#,
            r#"{"emails":{"type":"work","value":"not a list"}}"#,
            r#"{"name":{"givenName":"Ada","GIVENNAME":"no","familyName":"L"},"NAME":{"givenName":"other"}}"#,
            r#"{"Name":{"givenName":"B"},"name":"flat"}"#,
            r#"{"name":{"Familyname":"Z","familyname":"Y"},"name":{"givenName":"late"}}"#,
            r#"{"name":null}"#,
            r#"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","manager":{"value":"9","displayName":"M"}},"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"no"}}"#,
            r#"{"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"only other case"}}"#,
            r#"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"d","manager":"7"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"Value":8}}}"#,
            r#"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":[{"department":"list"}]}"#,
            r#"{"phoneNumbers":[{"type":"work","value":"+1 555"}],"displayName":{"nested":[1,2,{"a":null}]},"meta":{"version":"W/\"1\""}}"#,
            r#"{}"#,
        ] {
            check(&reader, &paths, text);
        }
    }

    /// Generated resources: members in several spellings, repeated, of every JSON type, at each
    /// level the paths pass through.
    #[test]
    fn reads_what_the_paths_read_from_generated_resources() {
        let paths = paths();
        let reader = Reader::of(&paths);
        let mut g = Gen(SplitMix64::new(16));
        for _ in 0..3_000 {
            let members: Vec<String> = (0..g.below(12))
                .map(|_| match g.below(6) {
                    0 => {
                        let name = g.pick(&["title", "displayName", "userName"]);
                        format!("\"{name}\":{}", g.leaf())
                    }
                    1 => format!(
                        "\"{}\":{}",
                        g.spell("name"),
                        g.object(&["givenName", "familyName"])
                    ),
                    2 | 3 => {
                        let list = g.pick(&["emails", "phoneNumbers"]);
                        let elements: Vec<String> = (0..g.below(4)).map(|_| g.element()).collect();
                        format!("\"{list}\":[{}]", elements.join(","))
                    }
                    4 => {
                        let urn = ENTERPRISE_USER_SPELLINGS[g.below(2)];
                        format!("\"{urn}\":{}", g.object(&["department", "manager"]))
                    }
                    _ => format!("\"other\":{}", g.object(&["title", "name"])),
                })
                .collect();
            let comma = g.punct(',');
            check(&reader, &paths, &format!("{{ {} }}", members.join(&comma)));
        }
    }

    /// A generator of JSON text, on the project's one seeded generator.
    struct Gen(SplitMix64);

    impl Gen {
        fn below(&mut self, n: usize) -> usize {
            (self.0.next_u64() % n as u64) as usize
        }

        /// `name` as it is, in upper or lower case, or capitalised.
        fn spell(&mut self, name: &str) -> String {
            match self.below(4) {
                0 => name.to_string(),
                1 => name.to_ascii_uppercase(),
                2 => name.to_ascii_lowercase(),
                _ => name[..1].to_ascii_uppercase() + &name[1..],
            }
        }

        /// One of `names`, spelled as [`Gen::spell`] does.
        fn pick(&mut self, names: &[&str]) -> String {
            let name = names[self.below(names.len())];
            self.spell(name)
        }

        fn leaf(&mut self) -> String {
            match self.below(11) {
                0 => "null".into(),
                1 => "true".into(),
                2 => "-1.5e3".into(),
                3 => "[]".into(),
                4 => r#"{"value":"9"}"#.into(),
                5 => r#"[{"x":"]}\"{"},[1,{}]]"#.into(),
                6 => r#""a\"b\\\u00e9]}""#.into(),
                _ => format!("\"v{}\"", self.below(100)),
            }
        }

        /// `,` or `:` with or without JSON whitespace around it.
        fn punct(&mut self, c: char) -> String {
            match self.below(4) {
                0 => format!(" {c}\t"),
                1 => format!("\r\n{c} "),
                _ => c.to_string(),
            }
        }

        /// Up to four members named after `names`.
        fn members(&mut self, names: &[&str]) -> Vec<String> {
            (0..self.below(5))
                .map(|_| {
                    let name = self.pick(names);
                    let colon = self.punct(':');
                    format!("\"{name}\"{colon}{}", self.leaf())
                })
                .collect()
        }

        fn object(&mut self, names: &[&str]) -> String {
            format!("{{{}}}", self.members(names).join(","))
        }

        /// An element of a multi-valued attribute, mostly an object, often with a `type`.
        fn element(&mut self) -> String {
            if self.below(5) == 0 {
                return self.leaf();
            }
            let mut members = self.members(&["type", "value", "primary"]);
            if self.below(3) != 0 {
                let ty = self.pick(&["work", "home"]);
                let at = self.below(members.len() + 1);
                members.insert(at, format!("\"{}\":\"{ty}\"", self.spell("type")));
            }
            format!("{{{}}}", members.join(","))
        }
    }

    const ENTERPRISE_USER_SPELLINGS: [&str; 2] = [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ];
}
