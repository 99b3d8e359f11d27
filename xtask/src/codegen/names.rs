//! Rust names from wire names.

/// `PascalCase` from any wire text: splits on non-alphanumerics and on case
/// changes, keeps existing capitals (`CreateChatCompletionRequest` stays).
pub fn pascal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper_next = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if upper_next {
                out.push(c.to_ascii_uppercase());
                upper_next = false;
            } else {
                out.push(c);
            }
        } else {
            upper_next = true;
        }
    }
    if out.is_empty() {
        return "Empty".into();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// `snake_case` from a wire name, escaped when it is a keyword.
pub fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if !out.is_empty() && !out.ends_with('_') && (prev_lower || (prev_upper && next_lower))
            {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("value");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    escape(out)
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "try", "typeof", "unsized", "virtual", "yield",
];

fn escape(s: String) -> String {
    match s.as_str() {
        "self" | "Self" | "crate" | "super" => format!("{s}_"),
        _ if KEYWORDS.contains(&s.as_str()) => format!("r#{s}"),
        _ => s,
    }
}

/// Longest common prefix and suffix of names, cut at word (capital) boundaries.
pub fn common_affixes(names: &[&str]) -> (usize, usize) {
    if names.len() < 2 {
        return (0, 0);
    }
    let words: Vec<Vec<&str>> = names.iter().map(|n| split_words(n)).collect();
    let min = words.iter().map(Vec::len).min().unwrap_or(0);
    let mut pre = 0;
    while pre < min && words.iter().all(|w| w[pre] == words[0][pre]) {
        pre += 1;
    }
    let mut suf = 0;
    while suf < min - pre
        && words
            .iter()
            .all(|w| w[w.len() - 1 - suf] == words[0][words[0].len() - 1 - suf])
    {
        suf += 1;
    }
    (pre, suf)
}

/// Strips `pre` leading and `suf` trailing words.
pub fn strip_words(name: &str, pre: usize, suf: usize) -> String {
    let w = split_words(name);
    if pre + suf >= w.len() {
        return name.to_owned();
    }
    w[pre..w.len() - suf].concat()
}

/// Splits `PascalCase` into words (runs of capitals stay together).
pub fn split_words(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = name.as_bytes();
    let mut start = 0;
    for i in 1..bytes.len() {
        let c = bytes[i];
        let prev = bytes[i - 1];
        let next_lower = bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        let boundary = (c.is_ascii_uppercase()
            && (prev.is_ascii_lowercase() || prev.is_ascii_digit()))
            || (c.is_ascii_uppercase() && prev.is_ascii_uppercase() && next_lower);
        if boundary {
            out.push(&name[start..i]);
            start = i;
        }
    }
    out.push(&name[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(
            pascal("response.output_text.delta"),
            "ResponseOutputTextDelta"
        );
        assert_eq!(
            pascal("CreateChatCompletionRequest"),
            "CreateChatCompletionRequest"
        );
        assert_eq!(pascal("gpt-4o"), "Gpt4o");
        assert_eq!(pascal("1024x1024"), "V1024x1024");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("topP"), "top_p");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("x-request-id"), "x_request_id");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("$schema"), "schema");
    }

    #[test]
    fn affixes() {
        let names = [
            "ChatCompletionRequestSystemMessage",
            "ChatCompletionRequestUserMessage",
        ];
        let (p, s) = common_affixes(&names);
        assert_eq!((p, s), (3, 1));
        assert_eq!(strip_words(names[0], p, s), "System");
        assert_eq!(split_words("HTTPServerError"), ["HTTP", "Server", "Error"]);
    }
}
