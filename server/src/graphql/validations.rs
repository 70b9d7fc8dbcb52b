//! Validation results of the documents clients send again and again, so that a repeated request
//! skips async-graphql's validation rules: a third of the instructions of a search
//! (`docs/BENCHMARKS.md`, "Per-request cost").
//!
//! Sound because validation (async-graphql 7.2 `check_rules`: every rule, then cache control,
//! complexity and depth, then the complexity and depth limits) is a function of the schema, the
//! document and only three things of the request:
//! - the operation name (`ArgumentsOfCorrectType` leaves the variables of other operations
//!   unchecked): part of the key;
//! - the values of the variables that complexity functions read (`first`, see
//!   [`COMPLEXITY_ARGUMENTS`]): part of the key (page sizes, never what a person asks);
//! - whether each variable an argument refers to fits the type the argument expects
//!   (`ArgumentsOfCorrectType`): checked again on every request ([`DocumentFacts::variables_fit`],
//!   the engine's `is_valid_input_value` as a yes or no). When they do not fit, the rules run as
//!   before and report the error exactly as before.
//!
//! Only a successful validation is kept, so a document refused once (too complex, too deep,
//! invalid) is validated, and refused, on every sending. The cache belongs to one schema, whose
//! limits never change; a text it knows also passed `ShapeLimits`' scan and shape walk, which
//! depend on the text and those limits alone, so they are not run again for it.
//!
//! Privacy: kept only for texts the document cache may keep (no string, no fractional number:
//! see `documents::literal_free`), with an operation name the text defines; variables are never
//! kept, only whole-number values of the complexity arguments.
//!
//! Bounded: at most [`TEXTS`] texts, each with at most [`VARIANTS`] results (operation name and
//! page sizes); the oldest text goes first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{Name, Positioned, ValidationResult, Variables};
// A value as written in the document, variables and all (`async_graphql::Value` has none).
use async_graphql_value::Value as Written;

/// Texts kept per schema (the app publishes a few dozen operations).
pub const TEXTS: usize = 256;

/// Results kept per text: one per operation name and page size sent with it.
pub const VARIANTS: usize = 8;

/// The arguments the schema's complexity expressions read (`#[graphql(complexity = "…")]`), whose
/// variables' values therefore change a document's complexity. A test reads every expression in
/// the source and fails when one reads another argument.
pub const COMPLEXITY_ARGUMENTS: &[&str] = &["first"];

/// What validation of a document depends on beyond the document, found once per text.
#[derive(Debug, Default)]
pub struct DocumentFacts {
    /// Every argument whose value refers to a variable, with the type it expects.
    arguments: Vec<(String, Written)>,
    /// The variables a complexity argument refers to.
    complexity_variables: Vec<Name>,
}

/// The values of the complexity variables of one request (None: not sent, the default applies).
pub type ComplexityInputs = Vec<Option<async_graphql::Value>>;

#[derive(Debug)]
struct Variant {
    operation_name: Option<String>,
    complexity_inputs: ComplexityInputs,
    result: ValidationResult,
}

#[derive(Debug)]
struct Known {
    facts: Arc<DocumentFacts>,
    variants: VecDeque<Variant>,
}

#[derive(Debug, Default)]
struct Entries {
    by_text: HashMap<Arc<str>, Known>,
    /// Texts in the order they were kept, for eviction.
    order: VecDeque<Arc<str>>,
}

/// What the cache knows of a text, for one request.
pub struct Lookup {
    pub facts: Arc<DocumentFacts>,
    pub complexity_inputs: Option<ComplexityInputs>,
    /// The kept result for this operation name and these page sizes.
    pub result: Option<ValidationResult>,
}

#[derive(Debug)]
pub struct ValidationCache {
    texts: usize,
    inner: Mutex<Entries>,
    /// Validations answered from here.
    answered: std::sync::atomic::AtomicU64,
}

impl Default for ValidationCache {
    fn default() -> Self {
        Self::new(TEXTS)
    }
}

impl ValidationCache {
    pub fn new(texts: usize) -> Self {
        Self { texts, inner: Mutex::new(Entries::default()), answered: Default::default() }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What is known of `text` (None: it never passed validation here).
    pub fn lookup(&self, text: &str, operation_name: Option<&str>, variables: &Variables) -> Option<Lookup> {
        let entries = self.entries();
        let known = entries.by_text.get(text)?;
        let facts = Arc::clone(&known.facts);
        let complexity_inputs = facts.complexity_inputs(variables);
        let result = complexity_inputs.as_ref().and_then(|inputs| {
            known
                .variants
                .iter()
                .find(|variant| {
                    variant.operation_name.as_deref() == operation_name && &variant.complexity_inputs == inputs
                })
                .map(|variant| variant.result)
        });
        Some(Lookup { facts, complexity_inputs, result })
    }

    /// Keeps a successful validation of `text`.
    pub fn keep(
        &self,
        text: &str,
        facts: Arc<DocumentFacts>,
        operation_name: Option<&str>,
        complexity_inputs: ComplexityInputs,
        result: ValidationResult,
    ) {
        if self.texts == 0 {
            return;
        }
        let variant = Variant { operation_name: operation_name.map(str::to_owned), complexity_inputs, result };
        let mut entries = self.entries();
        if let Some(known) = entries.by_text.get_mut(text) {
            if known.variants.len() >= VARIANTS {
                known.variants.pop_front();
            }
            known.variants.push_back(variant);
            return;
        }
        while entries.by_text.len() >= self.texts {
            let Some(oldest) = entries.order.pop_front() else { break };
            entries.by_text.remove(&*oldest);
        }
        let text: Arc<str> = Arc::from(text);
        entries.order.push_back(Arc::clone(&text));
        entries.by_text.insert(text, Known { facts, variants: VecDeque::from([variant]) });
    }

    /// Counts a validation answered from here.
    pub fn answered(&self) {
        self.answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many validations were answered from here.
    pub fn answers(&self) -> u64 {
        self.answered.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.entries().by_text.values().map(|known| known.variants.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a request's operation name may be kept: none, or one the text defines.
pub fn keepable_operation_name(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    match (operation_name, &document.operations) {
        (None, _) => true,
        (Some(_), DocumentOperations::Single(_)) => false,
        (Some(name), DocumentOperations::Multiple(operations)) => operations.contains_key(name),
    }
}

impl DocumentFacts {
    /// Walks `document` as the validator does (fragments, then operations; fields but
    /// `__typename`, their arguments and directives; the directives of operations, fragments and
    /// spreads). None when a type, field, argument or directive is unknown (the rules refuse such
    /// a document anyway): nothing is kept then.
    pub fn of(registry: &Registry, document: &ExecutableDocument) -> Option<Self> {
        let mut facts = Self::default();
        for fragment in document.fragments.values() {
            let ty = registry.types.get(fragment.node.type_condition.node.on.node.as_str())?;
            facts.directives(registry, &fragment.node.directives)?;
            facts.selection_set(registry, ty, &fragment.node.selection_set.node)?;
        }
        for (_, operation) in document.operations.iter() {
            let root = match operation.node.ty {
                OperationType::Query => Some(registry.query_type.as_str()),
                OperationType::Mutation => registry.mutation_type.as_deref(),
                OperationType::Subscription => registry.subscription_type.as_deref(),
            }?;
            let ty = registry.types.get(root)?;
            facts.directives(registry, &operation.node.directives)?;
            facts.selection_set(registry, ty, &operation.node.selection_set.node)?;
        }
        Some(facts)
    }

    fn selection_set(&mut self, registry: &Registry, ty: &MetaType, set: &SelectionSet) -> Option<()> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    // The validator visits nothing of `__typename`.
                    if field.name.node == "__typename" {
                        continue;
                    }
                    let meta_field = ty.field_by_name(field.name.node.as_str())?;
                    for (name, value) in &field.arguments {
                        let expected = &meta_field.args.get(name.node.as_str())?.ty;
                        self.argument(expected, &value.node);
                        if COMPLEXITY_ARGUMENTS.contains(&name.node.as_str()) {
                            variables_in(&value.node, &mut self.complexity_variables);
                        }
                    }
                    self.directives(registry, &field.directives)?;
                    if !field.selection_set.node.items.is_empty() {
                        let inner = registry.concrete_type_by_name(&meta_field.ty)?;
                        self.selection_set(registry, inner, &field.selection_set.node)?;
                    }
                }
                Selection::FragmentSpread(spread) => self.directives(registry, &spread.node.directives)?,
                Selection::InlineFragment(fragment) => {
                    let inner = match &fragment.node.type_condition {
                        Some(condition) => registry.types.get(condition.node.on.node.as_str())?,
                        None => ty,
                    };
                    self.directives(registry, &fragment.node.directives)?;
                    self.selection_set(registry, inner, &fragment.node.selection_set.node)?;
                }
            }
        }
        Some(())
    }

    fn directives(&mut self, registry: &Registry, directives: &[Positioned<Directive>]) -> Option<()> {
        for directive in directives {
            let meta = registry.directives.get(directive.node.name.node.as_str())?;
            for (name, value) in &directive.node.arguments {
                self.argument(&meta.args.get(name.node.as_str())?.ty, &value.node);
            }
        }
        Some(())
    }

    fn argument(&mut self, expected: &str, value: &Written) {
        let mut variables = Vec::new();
        variables_in(value, &mut variables);
        if !variables.is_empty() {
            self.arguments.push((expected.to_owned(), value.clone()));
        }
    }

    /// The values of the complexity variables, None when one is not a whole number or null (such
    /// a request is validated in full and not kept).
    pub fn complexity_inputs(&self, variables: &Variables) -> Option<ComplexityInputs> {
        self.complexity_variables
            .iter()
            .map(|name| match variables.get(name) {
                None => Some(None),
                Some(value @ async_graphql::Value::Null) => Some(Some(value.clone())),
                Some(async_graphql::Value::Number(number)) if number.is_i64() || number.is_u64() => {
                    Some(Some(async_graphql::Value::Number(number.clone())))
                }
                Some(_) => None,
            })
            .collect()
    }

    /// Whether every argument that refers to a variable would pass `ArgumentsOfCorrectType`
    /// with these variables. An argument whose variable was not sent is left unchecked, as the
    /// rule leaves it.
    pub fn variables_fit(&self, registry: &Registry, variables: &Variables) -> bool {
        self.arguments.iter().all(|(expected, value)| {
            match value.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(())) {
                Ok(value) => fits(registry, expected, &value),
                Err(()) => true,
            }
        })
    }
}

/// The engine's `is_valid_input_value` (async-graphql 7.2, `validation/utils.rs`) as a yes or no.
pub fn fits(registry: &Registry, type_name: &str, value: &async_graphql::Value) -> bool {
    use async_graphql::Value as V;
    match MetaTypeName::create(type_name) {
        MetaTypeName::NonNull(inner) => !matches!(value, V::Null) && fits(registry, inner, value),
        MetaTypeName::List(inner) => match value {
            V::List(items) => items.iter().all(|item| fits(registry, inner, item)),
            V::Null => true,
            _ => fits(registry, inner, value),
        },
        MetaTypeName::Named(name) => {
            if matches!(value, V::Null) {
                return true;
            }
            match registry.types.get(name) {
                // The engine panics on an unknown type: left to it.
                None => false,
                Some(MetaType::Scalar { is_valid: Some(is_valid), .. }) => is_valid(value),
                Some(MetaType::Scalar { is_valid: None, .. }) => true,
                Some(MetaType::Enum { enum_values, .. }) => match value {
                    V::Enum(item) => enum_values.contains_key(item.as_str()),
                    V::String(item) => enum_values.contains_key(item.as_str()),
                    _ => false,
                },
                Some(MetaType::InputObject { input_fields, oneof, .. }) => match value {
                    V::Object(values) => {
                        if *oneof && (values.len() != 1 || matches!(values.get_index(0), Some((_, V::Null)))) {
                            return false;
                        }
                        let mut known = 0;
                        for field in input_fields.values() {
                            match values.get(field.name.as_str()) {
                                Some(item) => {
                                    known += 1;
                                    if !fits(registry, &field.ty, item) {
                                        return false;
                                    }
                                }
                                None => {
                                    if MetaTypeName::create(&field.ty).is_non_null() && field.default_value.is_none() {
                                        return false;
                                    }
                                }
                            }
                        }
                        // No field the type does not have.
                        known == values.len()
                    }
                    _ => true,
                },
                Some(_) => true,
            }
        }
    }
}

fn variables_in(value: &Written, found: &mut Vec<Name>) {
    match value {
        Written::Variable(name) => found.push(name.clone()),
        Written::List(items) => items.iter().for_each(|item| variables_in(item, found)),
        Written::Object(fields) => fields.values().for_each(|item| variables_in(item, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(complexity: usize) -> ValidationResult {
        ValidationResult { cache_control: Default::default(), complexity, depth: 3 }
    }

    fn variables(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    #[test]
    fn only_whole_page_sizes_are_part_of_a_key() {
        let facts = DocumentFacts { arguments: vec![], complexity_variables: vec![Name::new("n")] };
        let inputs = |json| facts.complexity_inputs(&variables(json));
        assert_eq!(
            inputs(serde_json::json!({"n": 20, "near": {"lat": 31.1}})),
            Some(vec![Some(async_graphql::Value::from(20))])
        );
        assert_eq!(inputs(serde_json::json!({})), Some(vec![None]));
        assert_eq!(inputs(serde_json::json!({"n": "twenty"})), None);
        assert_eq!(inputs(serde_json::json!({"n": 2.5})), None);
    }

    #[test]
    fn at_most_so_many_texts_and_variants_are_kept_and_the_oldest_goes_first() {
        let cache = ValidationCache::new(2);
        let none = variables(serde_json::json!({}));
        for text in ["{ a }", "{ b }", "{ c }"] {
            cache.keep(text, Arc::default(), None, vec![], result(1));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.lookup("{ a }", None, &none).is_none(), "the oldest went first");
        let kept = cache.lookup("{ c }", None, &none).expect("kept");
        assert_eq!(kept.result.map(|result| result.complexity), Some(1));
        assert!(cache.lookup("{ c }", Some("Other"), &none).expect("the text is known").result.is_none());
        for page in 0..(VARIANTS as i64 + 3) {
            cache.keep("{ c }", Arc::default(), None, vec![Some(page.into())], result(page as usize));
        }
        assert_eq!(cache.len(), 2 - 1 + VARIANTS, "each text keeps at most VARIANTS results");
        let off = ValidationCache::new(0);
        off.keep("{ a }", Arc::default(), None, vec![], result(1));
        assert!(off.is_empty());
    }

    #[test]
    fn complexity_expressions_read_no_argument_but_the_page_size() {
        // `#[graphql(complexity = "…")]` functions read the arguments they name; a validation is
        // kept per value of those (COMPLEXITY_ARGUMENTS), so any other would make it unsound.
        let allowed = ["child_complexity", "unwrap_or", "clamp", "as", "usize"];
        let mut files = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        let mut expressions = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(
                    std::fs::read_dir(&path).expect("a source folder").map(|entry| entry.expect("an entry").path()),
                );
                continue;
            }
            if path.extension().is_none_or(|extension| extension != "rs") || path.ends_with("validations.rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("a source file");
            for (_, rest) in source.match_indices("complexity = \"").map(|(at, _)| source.split_at(at + 14)) {
                let expression = rest.split('"').next().unwrap_or_default();
                expressions += 1;
                for word in expression.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                    let is_name = word.starts_with(|c: char| c.is_alphabetic() || c == '_');
                    assert!(
                        !is_name || allowed.contains(&word) || COMPLEXITY_ARGUMENTS.contains(&word),
                        "{}: the complexity \"{expression}\" reads `{word}`: add it to COMPLEXITY_ARGUMENTS",
                        path.display()
                    );
                }
            }
        }
        assert!(expressions > 10, "the expressions were found ({expressions})");
    }
}
