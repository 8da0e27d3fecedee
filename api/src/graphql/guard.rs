//! Refuses abusive query documents before and right after parsing: deeply nested values (the
//! parser does not bound them and would overflow the stack), alias and directive floods, and
//! mutations sent by GET.

use std::sync::Arc;

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
};

/// The deepest bracket nesting (`{`, `[`, `(`) a document may have.
pub const MAX_NESTING: usize = 40;
/// The most field selections (aliases included) a document may make.
pub const MAX_FIELDS: usize = 1_000;
/// The most aliased selections a document may make.
pub const MAX_ALIASES: usize = 200;
/// The most directives a document may carry.
pub const MAX_DIRECTIVES: usize = 50;

/// Request data marking a request that must not mutate (GET).
#[derive(Clone, Copy, Debug)]
pub struct ReadOnlyRequest;

/// The extension factory to register on the schema.
pub struct DocumentGuard;

impl ExtensionFactory for DocumentGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentGuardExtension)
    }
}

struct DocumentGuardExtension;

#[async_trait::async_trait]
impl Extension for DocumentGuardExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        check_nesting(query).map_err(|message| ServerError::new(message, None))?;
        let document = next.run(ctx, query, variables).await?;
        check_shape(&document).map_err(|message| ServerError::new(message, None))?;
        if ctx.data_opt::<ReadOnlyRequest>().is_some() && has_mutation(&document) {
            return Err(ServerError::new("mutations must be sent with POST", None));
        }
        Ok(document)
    }
}

/// Scans the raw text for bracket nesting deeper than [`MAX_NESTING`], skipping strings and
/// comments, without building anything.
pub fn check_nesting(query: &str) -> Result<(), String> {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "query is nested too deeply (more than {MAX_NESTING} levels)"
                    ));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    fields: usize,
    aliases: usize,
    directives: usize,
}

impl Tally {
    fn selection_set(&mut self, set: &SelectionSet) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    self.fields += 1;
                    self.aliases += usize::from(field.node.alias.is_some());
                    self.directives += field.node.directives.len();
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

/// Counts fields, aliases and directives over every operation and fragment.
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
    Ok(())
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

    #[test]
    fn nesting_counts_brackets_outside_strings() {
        assert!(
            check_nesting("{ a(b: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\") }").is_ok()
        );
        let deep = format!("{{ a(b: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        assert!(check_nesting(&deep).is_err());
        let comment = format!("# {}\n{{ a }}", "{".repeat(100));
        assert!(check_nesting(&comment).is_ok());
    }
}
