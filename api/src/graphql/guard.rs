//! Refuses abusive query documents before and right after parsing: deeply nested values (the
//! parser does not bound them and would overflow the stack), alias and directive floods, and
//! mutations sent by GET.
//!
//! The guard runs ahead of the schema, on the request, rather than as a schema extension: with
//! any extension registered, the executor resolves every field through the extension chain (a
//! registry lookup and boxed futures per field), which costs a page of results more than all
//! of these checks.

use std::{
    any::TypeId,
    collections::{HashMap, HashSet},
    num::NonZeroUsize,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use async_graphql::{
    Request, ServerError, Value, Variables,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
};
use lru::LruCache;

use crate::observe::OperationLabel;

/// The deepest bracket nesting (`{`, `[`, `(`) a document may have.
pub const MAX_NESTING: usize = 40;
/// The most field selections (aliases included) a document may make.
pub const MAX_FIELDS: usize = 1_000;
/// The most aliased selections a document may make.
pub const MAX_ALIASES: usize = 200;
/// The most directives a document may carry.
pub const MAX_DIRECTIVES: usize = 50;

/// The most directives one field may carry.
pub const MAX_DIRECTIVES_ON_A_FIELD: usize = 8;
/// The deepest nesting of fields and fragments (inline or spread) a document may reach.
pub const MAX_EXPANDED_DEPTH: usize = 30;
/// The deepest nesting of introspection lists (`types { fields { args } }` is three).
pub const MAX_INTROSPECTION_LISTS: usize = 3;
/// The most introspection roots (`__schema`, `__type`) a document may hold.
pub const MAX_INTROSPECTION_ROOTS: u64 = 3;
/// The most selections a document may expand to, with every fragment spread multiplied out
/// (validation and the complexity count walk the expanded document).
pub const MAX_EXPANDED_SELECTIONS: u64 = 5_000;

/// Stack a parse or validation may need beyond what it is called with, for a document of
/// `len` bytes: ample for the deepest nesting a document of that size could hold, so that even
/// a document the nesting check let through cannot overflow the stack.
fn stack_for(len: usize) -> usize {
    const BASE: usize = 256 * 1024;
    const PER_BYTE: usize = 4 * 1024;
    BASE.saturating_add(len.saturating_mul(PER_BYTE))
}

/// Polls a future on a stack of at least `bytes` (a fresh one when the thread's is too short),
/// on its first poll only: parsing and validation run there, before anything the future
/// awaits, and the rest is bounded by the depth limits.
pub struct FirstPollOnLargeStack<F> {
    inner: Pin<Box<F>>,
    bytes: Option<usize>,
}

impl<F: Future> FirstPollOnLargeStack<F> {
    /// `inner`, whose first poll gets at least the stack a document of `query_len` bytes may
    /// need.
    pub fn new(inner: F, query_len: usize) -> Self {
        Self {
            inner: Box::pin(inner),
            bytes: Some(stack_for(query_len)),
        }
    }
}

impl<F: Future> Future for FirstPollOnLargeStack<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.bytes.take() {
            Some(bytes) => {
                let inner = &mut self.inner;
                stacker::maybe_grow(bytes, bytes, || inner.as_mut().poll(cx))
            }
            None => self.inner.as_mut().poll(cx),
        }
    }
}

/// Request data marking a request that must not mutate (GET).
#[derive(Clone, Copy, Debug)]
pub struct ReadOnlyRequest;

/// Documents kept parsed, by their text: partner apps and the web client send the same few
/// documents with other variables, and parsing costs more than a lookup by text.
const PARSED_DOCUMENTS: usize = 256;
/// Longer documents are parsed each time.
const MAX_KEPT_DOCUMENT: usize = 16 * 1024;

/// Checks each request's document before the schema runs it, and keeps the parsed documents
/// that passed the checks made on the text alone ([`check_nesting`] and [`check_shape`]), by
/// their text.
#[derive(Clone)]
pub struct DocumentGuard {
    parsed: Arc<Mutex<LruCache<String, ExecutableDocument>>>,
}

impl Default for DocumentGuard {
    fn default() -> Self {
        let size = NonZeroUsize::new(PARSED_DOCUMENTS).unwrap_or(NonZeroUsize::MIN);
        Self {
            parsed: Arc::new(Mutex::new(LruCache::new(size))),
        }
    }
}

impl DocumentGuard {
    /// Parses and checks `request`'s document, and hands it to the schema parsed. The
    /// schema's own parse stage then only walks it for depth, which the checks here have
    /// already bounded (no fragment cycle, at most [`MAX_EXPANDED_SELECTIONS`] selections
    /// with every spread multiplied out). Returns the label the operation is measured under.
    pub fn admit(&self, request: &mut Request) -> Result<OperationLabel, ServerError> {
        let refuse = |message: String| ServerError::new(message, None);
        let query = request.query.as_str();
        let document = match self.kept(query) {
            Some(document) => document,
            None => {
                check_nesting(query).map_err(refuse)?;
                let bytes = stack_for(query.len());
                let document = stacker::maybe_grow(bytes, bytes, || {
                    let document = async_graphql::parser::parse_query(query)?;
                    check_shape(&document).map_err(refuse)?;
                    Ok::<_, ServerError>(document)
                })?;
                self.keep(query, &document);
                document
            }
        };
        check_text(&document, &request.variables).map_err(refuse)?;
        let read_only = request.data.contains_key(&TypeId::of::<ReadOnlyRequest>());
        if read_only && has_mutation(&document) {
            return Err(ServerError::new("mutations must be sent with POST", None));
        }
        let label = OperationLabel::of(&document, request.operation_name.as_deref());
        request.set_parsed_query(document);
        Ok(label)
    }

    /// A parsed document of `query` that passed the checks on the text, parsed earlier.
    fn kept(&self, query: &str) -> Option<ExecutableDocument> {
        let mut parsed = self.parsed.lock().unwrap_or_else(PoisonError::into_inner);
        parsed.get(query).cloned()
    }

    fn keep(&self, query: &str, document: &ExecutableDocument) {
        if query.len() <= MAX_KEPT_DOCUMENT {
            let mut parsed = self.parsed.lock().unwrap_or_else(PoisonError::into_inner);
            parsed.put(query.to_owned(), document.clone());
        }
    }
}

/// Scans the raw text for bracket nesting deeper than [`MAX_NESTING`] without building anything.
///
/// It follows GraphQL's lexical grammar as the parser does, so that no bracket the parser sees
/// is skipped: a comment ends at any line terminator (`\n`, `\r\n` or a bare `\r`); a string
/// ends at its closing quote, or where it stops being a string (a line terminator or an invalid
/// escape, after which the parser fails); a block string ends at the first `"""` not escaped as
/// `\"""`, and one that never ends is read, as the parser reads it, as an empty string `""`
/// followed by an ordinary one. Where the two could differ the scan counts more, never less.
pub fn check_nesting(query: &str) -> Result<(), String> {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = end_of_comment(bytes, i + 1),
            b'"' => i = end_of_string(bytes, i),
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "query is nested too deeply (more than {MAX_NESTING} levels)"
                    ));
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The position of the line terminator that ends a comment starting before `i`.
fn end_of_comment(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

/// The position just after the string that starts with the quote at `start`.
fn end_of_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        // Never closed: the parser falls back to reading `""` as an empty string.
        return start + 2;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return i + 1,
            // Not a string any more: scanning goes on from here.
            b'\n' | b'\r' => return i,
            b'\\' => match bytes.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' | b'u') => i += 2,
                _ => return i,
            },
            _ => i += 1,
        }
    }
    i
}

#[derive(Default)]
struct Tally {
    fields: usize,
    aliases: usize,
    directives: usize,
    most_on_one_field: usize,
}

impl Tally {
    fn selection_set(&mut self, set: &SelectionSet) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    self.fields += 1;
                    self.aliases += usize::from(field.node.alias.is_some());
                    self.directives += field.node.directives.len();
                    self.most_on_one_field =
                        self.most_on_one_field.max(field.node.directives.len());
                    self.selection_set(&field.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives += spread.node.directives.len();
                }
                Selection::InlineFragment(fragment) => {
                    self.directives += fragment.node.directives.len();
                    self.selection_set(&fragment.node.selection_set.node);
                }
            }
        }
    }
}

/// The top-level selection sets of every operation and fragment.
fn selection_sets(document: &ExecutableDocument) -> impl Iterator<Item = &SelectionSet> {
    let operations = document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|fragment| &fragment.node.selection_set.node);
    operations.chain(fragments)
}

/// Counts fields, aliases and directives over every operation and fragment, then measures the
/// document with its fragments spread out.
fn check_shape(document: &ExecutableDocument) -> Result<(), String> {
    let mut tally = Tally::default();
    for (_, operation) in document.operations.iter() {
        tally.directives += operation.node.directives.len();
        tally.selection_set(&operation.node.selection_set.node);
    }
    for fragment in document.fragments.values() {
        tally.directives += fragment.node.directives.len();
        tally.selection_set(&fragment.node.selection_set.node);
    }
    if tally.fields > MAX_FIELDS {
        return Err(format!(
            "query selects too many fields (more than {MAX_FIELDS})"
        ));
    }
    if tally.aliases > MAX_ALIASES {
        return Err(format!(
            "query uses too many aliases (more than {MAX_ALIASES})"
        ));
    }
    if tally.directives > MAX_DIRECTIVES {
        return Err(format!(
            "query uses too many directives (more than {MAX_DIRECTIVES})"
        ));
    }
    if tally.most_on_one_field > MAX_DIRECTIVES_ON_A_FIELD {
        return Err(format!(
            "a field carries too many directives (more than {MAX_DIRECTIVES_ON_A_FIELD})"
        ));
    }
    let mut measure = Measure {
        document,
        fragments: HashMap::new(),
        open: HashSet::new(),
    };
    let mut whole = Size::default();
    for set in selection_sets(document) {
        whole.add(measure.selection_set(set)?);
        check_introspection(whole)?;
        if whole.selections > MAX_EXPANDED_SELECTIONS {
            return Err(too_many_selections());
        }
    }
    Ok(())
}

/// Refuses introspection that would multiply: lists nested more deeply than the standard
/// introspection query nests them (types, their fields, the fields' arguments), or more than a
/// few introspection roots in one document.
fn check_introspection(size: Size) -> Result<(), String> {
    if size.introspection_lists > MAX_INTROSPECTION_LISTS {
        return Err(format!(
            "introspection lists may be nested at most {MAX_INTROSPECTION_LISTS} deep (as in \
             types {{ fields {{ args }} }})"
        ));
    }
    if size.introspection_roots > MAX_INTROSPECTION_ROOTS {
        return Err(format!(
            "a query may hold at most {MAX_INTROSPECTION_ROOTS} introspection fields \
             (__schema, __type)"
        ));
    }
    Ok(())
}

fn too_many_selections() -> String {
    format!(
        "query expands to too many selections once its fragments are spread (more than \
         {MAX_EXPANDED_SELECTIONS})"
    )
}

/// A selection set's size with its fragments spread out.
#[derive(Clone, Copy, Default)]
struct Size {
    /// Selections in all.
    selections: u64,
    /// The deepest nesting of fields and fragments.
    depth: usize,
    /// The most introspection lists nested in one another on one path.
    introspection_lists: usize,
    /// Introspection roots (`__schema`, `__type`) in all.
    introspection_roots: u64,
}

impl Size {
    /// This size and `other` side by side.
    fn add(&mut self, other: Size) {
        self.selections = self.selections.saturating_add(other.selections);
        self.depth = self.depth.max(other.depth);
        self.introspection_lists = self.introspection_lists.max(other.introspection_lists);
        self.introspection_roots = self
            .introspection_roots
            .saturating_add(other.introspection_roots);
    }
}

/// The list fields of GraphQL's introspection types. Nested through `type` and `ofType` they
/// multiply (types, each type's fields, each field type's fields, ...), and their cost is not
/// in the complexity count, so their nesting is bounded here.
const INTROSPECTION_LISTS: [&str; 8] = [
    "types",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "directives",
];

/// Measures selection sets with fragment spreads multiplied out, each fragment worked out
/// once, so the work is linear in the document whatever its spreads.
struct Measure<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Size>,
    open: HashSet<&'a str>,
}

impl<'a> Measure<'a> {
    /// Stops early past [`MAX_EXPANDED_SELECTIONS`] or [`MAX_EXPANDED_DEPTH`]; a fragment cycle
    /// is refused here too (validation would refuse it anyway).
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Size, String> {
        let mut total = Size::default();
        for selection in &set.items {
            let size = match &selection.node {
                Selection::Field(field) => {
                    let below = self.selection_set(&field.node.selection_set.node)?;
                    let name = field.node.name.node.as_str();
                    Size {
                        selections: below.selections.saturating_add(1),
                        depth: below.depth + 1,
                        introspection_lists: below.introspection_lists
                            + usize::from(INTROSPECTION_LISTS.contains(&name)),
                        introspection_roots: below
                            .introspection_roots
                            .saturating_add(u64::from(matches!(name, "__schema" | "__type"))),
                    }
                }
                // A fragment is a level of its own when the query runs, as a field is.
                Selection::InlineFragment(fragment) => {
                    let mut below = self.selection_set(&fragment.node.selection_set.node)?;
                    below.depth += 1;
                    below
                }
                Selection::FragmentSpread(spread) => {
                    let mut below = self.fragment(&spread.node.fragment_name.node)?;
                    below.depth += 1;
                    below
                }
            };
            total.add(size);
            check_introspection(total)?;
            if total.selections > MAX_EXPANDED_SELECTIONS {
                return Err(too_many_selections());
            }
            if total.depth > MAX_EXPANDED_DEPTH {
                return Err(format!(
                    "query is nested too deeply once its fragments are spread (more than \
                     {MAX_EXPANDED_DEPTH} levels)"
                ));
            }
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'a async_graphql::Name) -> Result<Size, String> {
        let key = name.as_str();
        if let Some(size) = self.fragments.get(key) {
            return Ok(*size);
        }
        // An unknown fragment: validation names it.
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Size::default());
        };
        if !self.open.insert(key) {
            return Err(format!("fragment {key} spreads itself"));
        }
        let size = self.selection_set(&fragment.node.selection_set.node)?;
        self.open.remove(key);
        self.fragments.insert(key, size);
        Ok(size)
    }
}

/// Refuses text that no listing, name or search can hold: NUL and the other control characters
/// but tab, line feed and carriage return, anywhere in the arguments a document passes (given
/// inline, by variable, or as a variable's default). The error names the argument's path, as
/// the editing validators do (`input.phones[0].number: ...`).
fn check_text(document: &ExecutableDocument, variables: &Variables) -> Result<(), String> {
    let mut values: HashMap<&str, &Value> = HashMap::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            let name = &definition.node.name.node;
            let given =
                variables
                    .get(name)
                    .or(definition.node.default_value.as_ref().map(|d| &d.node));
            if let Some(value) = given {
                values.entry(name.as_str()).or_insert(value);
            }
        }
    }
    let check = TextCheck { values };
    for set in selection_sets(document) {
        check.selection_set(set).map_err(|mut path| {
            path.reverse();
            format!(
                "{}: must not contain control characters (tab and line breaks are allowed)",
                path.concat()
            )
        })?;
    }
    Ok(())
}

/// Walks arguments for control characters; an error is the offending value's path, innermost
/// segment first.
struct TextCheck<'a> {
    values: HashMap<&'a str, &'a Value>,
}

impl TextCheck<'_> {
    fn selection_set(&self, set: &SelectionSet) -> Result<(), Vec<String>> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let directives = field
                        .node
                        .directives
                        .iter()
                        .flat_map(|d| d.node.arguments.iter());
                    for (name, value) in field.node.arguments.iter().chain(directives) {
                        self.value(&value.node).map_err(|mut path| {
                            path.push(name.node.to_string());
                            path
                        })?;
                    }
                    self.selection_set(&field.node.selection_set.node)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node)?;
                }
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    fn value(&self, value: &async_graphql_value::Value) -> Result<(), Vec<String>> {
        use async_graphql_value::Value as V;
        match value {
            V::Variable(name) => match self.values.get(name.as_str()) {
                Some(given) => const_text(given),
                None => Ok(()),
            },
            V::String(text) if has_control(text) => Err(Vec::new()),
            V::List(items) => items.iter().enumerate().try_for_each(|(i, item)| {
                self.value(item).map_err(|mut path| {
                    path.push(format!("[{i}]"));
                    path
                })
            }),
            V::Object(fields) => fields.iter().try_for_each(|(key, item)| {
                self.value(item).map_err(|mut path| {
                    path.push(format!(".{key}"));
                    path
                })
            }),
            _ => Ok(()),
        }
    }
}

fn const_text(value: &Value) -> Result<(), Vec<String>> {
    match value {
        Value::String(text) if has_control(text) => Err(Vec::new()),
        Value::List(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            const_text(item).map_err(|mut path| {
                path.push(format!("[{i}]"));
                path
            })
        }),
        Value::Object(fields) => fields.iter().try_for_each(|(key, item)| {
            if has_control(key) {
                return Err(vec![".<key>".to_owned()]);
            }
            const_text(item).map_err(|mut path| {
                path.push(format!(".{key}"));
                path
            })
        }),
        _ => Ok(()),
    }
}

/// Whether `text` holds an ASCII control character other than tab and line breaks.
fn has_control(text: &str) -> bool {
    text.bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
}

fn has_mutation(document: &ExecutableDocument) -> bool {
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty != OperationType::Query,
        DocumentOperations::Multiple(ops) => {
            ops.values().any(|op| op.node.ty != OperationType::Query)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(open: &str, close: &str, levels: usize) -> String {
        format!("{}1{}", open.repeat(levels), close.repeat(levels))
    }

    #[test]
    fn nesting_counts_brackets_outside_strings() {
        assert!(
            check_nesting("{ a(b: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\") }").is_ok()
        );
        let deep_list = format!("{{ a(b: {}) }}", deep("[", "]", 100));
        assert!(check_nesting(&deep_list).is_err());
        let comment = format!("# {}\n{{ a }}", "{".repeat(100));
        assert!(check_nesting(&comment).is_ok());
    }

    #[test]
    fn every_line_terminator_ends_a_comment() {
        for terminator in ["\n", "\r\n", "\r"] {
            let query = format!("# x{terminator}{{ a(b: {}) }}", deep("[", "]", 100));
            assert!(check_nesting(&query).is_err(), "{terminator:?}");
        }
        // A byte-order mark and commas are only white space.
        let query = format!("\u{feff}# c\r{{ a(b: {}) }}", deep("{x:", "}", 100));
        assert!(check_nesting(&query).is_err());
    }

    #[test]
    fn strings_end_where_the_parser_ends_them() {
        let nested = deep("[", "]", 100);
        // An escaped quote does not end a string; the real closing quote does.
        assert!(check_nesting(&format!("{{ a(b: \"x\\\"\", c: {nested}) }}")).is_err());
        // A line terminator ends an unterminated string.
        for terminator in ["\n", "\r"] {
            let query = format!("{{ a(b: \"x{terminator}{nested}) }}");
            assert!(check_nesting(&query).is_err(), "{terminator:?}");
        }
        // An invalid escape ends the string where it stands.
        assert!(check_nesting(&format!("{{ a(b: \"\\q{nested}\") }}")).is_err());
        // A block string ends at the first unescaped triple quote.
        let block = format!("{{ a(b: \"\"\" \\\"\"\" \"\"\", c: {nested}) }}");
        assert!(check_nesting(&block).is_err());
        // An unclosed block string is an empty string and then an ordinary one.
        let unclosed = format!("{{ a(b: \"\"\"\n{nested}) }}");
        assert!(check_nesting(&unclosed).is_err());
        // Brackets inside a closed block string are text.
        let text = format!("{{ a(b: \"\"\"\n{nested}\n\"\"\") }}");
        assert!(check_nesting(&text).is_ok());
    }

    #[test]
    fn parsing_cannot_overflow_the_stack_even_past_the_check() {
        // A thread with a small stack, and a document far deeper than it could parse on it.
        let query = format!("{{ a(b: {}) }}", deep("[", "]", 20_000));
        let parsed = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("a runtime");
                runtime.block_on(FirstPollOnLargeStack::new(
                    async { async_graphql::parser::parse_query(&query).is_ok() },
                    query.len(),
                ))
            })
            .expect("a thread")
            .join()
            .expect("the parse finished without overflowing");
        assert!(parsed);
    }

    #[test]
    fn fragment_spreads_are_counted_multiplied_out() {
        // Ten fragments, each spreading the one before ten times: 10^10 selections.
        let mut query = String::from("query { ...F9 }\nfragment F0 on Query { __typename }\n");
        for n in 1..10 {
            let spreads = format!("...F{} ", n - 1).repeat(10);
            query.push_str(&format!("fragment F{n} on Query {{ {spreads} }}\n"));
        }
        let document = async_graphql::parser::parse_query(&query).expect("parses");
        let refused = check_shape(&document).expect_err("refused");
        assert!(refused.contains("expands"), "{refused}");

        let cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        let document = async_graphql::parser::parse_query(cycle).expect("parses");
        assert!(check_shape(&document).is_err());

        let fine = "query { ...A ...A } fragment A on Query { a b c }";
        let document = async_graphql::parser::parse_query(fine).expect("parses");
        assert!(check_shape(&document).is_ok());
    }

    #[test]
    fn control_characters_are_refused_in_values_and_variables() {
        let parse = |q: &str| async_graphql::parser::parse_query(q).expect("parses");
        let none = Variables::default();
        assert!(check_text(&parse("{ a(b: \"tab\\tline\\n\") }"), &none).is_ok());
        assert!(check_text(&parse("{ a(b: \"nul\\u0000\") }"), &none).is_err());
        assert!(check_text(&parse("{ a(b: [{c: \"\\u0007\"}]) }"), &none).is_err());
        assert!(
            check_text(
                &parse("query($x: String = \"\\u0000\") { a(b: $x) }"),
                &none
            )
            .is_err()
        );
        let variables = Variables::from_json(serde_json::json!({ "e": ["ok", "a\u{0}b"] }));
        assert!(check_text(&parse("query($e: [String]) { a(b: $e) }"), &variables).is_err());
    }
}
