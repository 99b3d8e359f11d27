//! API areas: one cargo feature of `oai-types` each.

/// `(feature, module)` of every area, in the order they are emitted.
pub const AREAS: &[&str] = &[
    "admin",
    "assistants",
    "audio",
    "batches",
    "chat",
    "chatkit",
    "completions",
    "containers",
    "conversations",
    "embeddings",
    "evals",
    "files",
    "fine-tuning",
    "images",
    "models",
    "moderations",
    "realtime",
    "responses",
    "skills",
    "uploads",
    "vector-stores",
    "videos",
    "webhooks",
];

/// The area of an operation, from its first tag, else from its path.
pub fn of_operation(tags: &[&str], path: &str) -> &'static str {
    match tags.first().copied() {
        Some("Chat") => "chat",
        Some("Completions") => "completions",
        Some("Embeddings") => "embeddings",
        Some("Moderations") => "moderations",
        Some("Images") => "images",
        Some("Audio") => "audio",
        Some("Files") => "files",
        Some("Uploads") => "uploads",
        Some("Batch") => "batches",
        Some("Models") => "models",
        Some("Fine-tuning") => "fine-tuning",
        Some("Responses") => "responses",
        Some("Conversations") => "conversations",
        Some("Realtime") => "realtime",
        Some("Assistants") => "assistants",
        Some("Vector stores") => "vector-stores",
        Some("Evals") => "evals",
        Some("Skills") => "skills",
        Some("Videos") => "videos",
        Some(_) => "admin",
        None => {
            let first = path
                .trim_start_matches('/')
                .split(['/', '?'])
                .next()
                .unwrap_or("");
            match first {
                "containers" => "containers",
                "chatkit" => "chatkit",
                "responses" => "responses",
                "content_provenance_checks" => "images",
                _ => "admin",
            }
        }
    }
}

/// The area of a schema no operation reaches, from its name.
pub fn of_unreached_schema(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    let table: &[(&str, &str)] = &[
        ("webhook", "webhooks"),
        ("realtime", "realtime"),
        ("chatkit", "chatkit"),
        ("eval", "evals"),
        ("assistant", "assistants"),
        ("thread", "assistants"),
        ("run", "assistants"),
        ("message", "assistants"),
        ("vectorstore", "vector-stores"),
        ("finetun", "fine-tuning"),
        ("response", "responses"),
        ("conversation", "conversations"),
        ("chatcompletion", "chat"),
        ("audio", "audio"),
        ("transcri", "audio"),
        ("image", "images"),
        ("container", "containers"),
        ("skill", "skills"),
        ("video", "videos"),
        ("batch", "batches"),
        ("upload", "uploads"),
        ("file", "files"),
        ("embedding", "embeddings"),
        ("moderation", "moderations"),
        ("usage", "admin"),
        ("audit", "admin"),
        ("project", "admin"),
        ("organization", "admin"),
    ];
    table.iter().find(|(k, _)| n.contains(k)).map(|(_, a)| *a)
}

/// The Rust module name of an area.
pub fn module(area: &str) -> String {
    area.replace('-', "_")
}
