use super::*;

// ---------------------------------------------------------------------------
// Normalisation for comparing with the official JSON

/// Words separated by XML whitespace (space, tab, CR, LF: not U+00A0).
fn xml_words(text: &str) -> Vec<&str> {
    text.split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
        .collect()
}

/// The XHTML of a narrative as a sequence of tokens: tags with their
/// attributes sorted, text with entities resolved and whitespace collapsed,
/// comments dropped.
fn xhtml_tokens(xhtml: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xhtml);
    let mut tokens = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, tokens: &mut Vec<String>| {
        let collapsed = xml_words(text).join(" ");
        if !collapsed.is_empty() {
            tokens.push(collapsed);
        }
        text.clear();
    };
    loop {
        match reader.read_event() {
            Ok(event @ (Event::Start(_) | Event::Empty(_))) => {
                let (Event::Start(start) | Event::Empty(start)) = &event else {
                    unreachable!()
                };
                flush(&mut text, &mut tokens);
                let mut attributes: Vec<String> = start
                    .attributes()
                    .filter_map(Result::ok)
                    .map(|a| {
                        let value = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map(|v| v.into_owned())
                            .unwrap_or_default();
                        format!("{}={}", a.key.into_inner(), xml_words(&value).join(" "))
                    })
                    .collect();
                attributes.sort();
                tokens.push(format!(
                    "<{} {}>",
                    start.name().into_inner(),
                    attributes.join(" ")
                ));
                // <td/> is <td></td>.
                if matches!(event, Event::Empty(_)) {
                    tokens.push(format!("</{}>", start.name().into_inner()));
                }
            }
            Ok(Event::End(end)) => {
                flush(&mut text, &mut tokens);
                tokens.push(format!("</{}>", end.name().into_inner()));
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text.push_str(&t),
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref() {
                Ok(Some(c)) => text.push(c),
                _ => text.push_str(match &*r {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "apos" => "'",
                    "quot" => "\"",
                    other => other,
                }),
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(error) => {
                tokens.push(format!("error {error}"));
                break;
            }
        }
    }
    flush(&mut text, &mut tokens);
    tokens
}

/// The value with narratives as token lists and numbers as f64, so that
/// equality is "modulo narrative whitespace and number formatting".
fn normalise(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("div", Value::String(xhtml)) => json!(xhtml_tokens(xhtml)),
                        _ => normalise(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Number(number) => json!(number.as_f64()),
        other => other.clone(),
    }
}

/// The first place where two values differ, as a JSON path.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                match (x.get(key), y.get(key)) {
                    (Some(u), Some(v)) => {
                        if let Some(difference) = first_difference(u, v, &format!("{path}.{key}")) {
                            return Some(difference);
                        }
                    }
                    (u, v) => return Some(format!("{path}.{key}: {} vs {}", short(u), short(v))),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} vs {} items", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (u, v))| first_difference(u, v, &format!("{path}[{i}]")))
        }
        (x, y) if x == y => None,
        (x, y) => Some(format!("{path}: {} vs {}", short(Some(x)), short(Some(y)))),
    }
}

fn short(value: Option<&Value>) -> String {
    let text = value.map_or("absent".to_owned(), Value::to_string);
    text.chars().take(120).collect()
}

// ---------------------------------------------------------------------------
// The official examples

#[test]
fn official_xml_examples_convert_and_agree_with_their_json_twins() {
    let xml_dir = examples("xml");
    let json_dir = examples("json");
    let files = files(&xml_dir, "xml");
    if files.is_empty() {
        eprintln!("no examples in {}: skipped", xml_dir.display());
        return;
    }
    let (mut converted, mut twins, mut agree, mut identical) = (0, 0, 0, 0);
    let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read(file).unwrap();
        match xml_to_json(&body) {
            Ok(value) => {
                converted += 1;
                let twin = json_dir.join(name.replace(".xml", ".json"));
                if let Ok(text) = std::fs::read(&twin) {
                    twins += 1;
                    let official: Value = serde_json::from_slice(&text).unwrap();
                    if value == official {
                        identical += 1;
                    }
                    let (ours, theirs) = (normalise(&value), normalise(&official));
                    if ours == theirs {
                        agree += 1;
                    } else {
                        let difference = first_difference(&ours, &theirs, "").unwrap_or_default();
                        disagreements.push(format!("{name}: {difference}"));
                    }
                }
            }
            Err(rejection) => {
                let issue = &rejection.issues[0];
                refused
                    .entry(format!("{} {}: {}", rejection.status, issue.rule, issue.en))
                    .or_default()
                    .push(format!(
                        "{name} {}",
                        issue.expression.clone().unwrap_or_default()
                    ));
            }
        }
    }
    println!("XML examples: {converted} of {} converted", files.len());
    println!(
        "JSON twins: {agree} of {twins} agree (modulo narrative whitespace and number formatting), \
         {identical} identical as they stand"
    );
    for (reason, names) in &refused {
        println!("refused, {reason}\n   {}", names.join("\n   "));
    }
    for difference in &disagreements {
        println!("differs: {difference}");
    }
    // Measured: 640 of 640 converted; 638 of 639 twins agree (487 identical
    // as they stand). The one that differs does so at the source: the XML of
    // Bundle-72ac8493-… has an empty <td/> where its JSON has <td>&#160;</td>.
    assert!(
        converted * 100 >= files.len() * 99,
        "{converted} of {} converted",
        files.len()
    );
    assert!(agree * 100 >= twins * 95, "{agree} of {twins} agree");
}

#[test]
fn round_trip_of_the_official_xml_examples() {
    let files = files(&examples("xml"), "xml");
    let mut checked = 0;
    for file in &files {
        let Ok(value) = xml_to_json(&std::fs::read(file).unwrap()) else {
            continue;
        };
        let xml =
            json_to_xml(&value).unwrap_or_else(|r| panic!("{}: {:?}", file.display(), r.issues));
        let again = xml_to_json(xml.as_bytes())
            .unwrap_or_else(|r| panic!("{}: {:?}\n{xml}", file.display(), r.issues));
        assert_eq!(
            again,
            value,
            "{}: {}",
            file.display(),
            first_difference(&again, &value, "").unwrap_or_default()
        );
        checked += 1;
    }
    println!("round trip XML → JSON → XML → JSON: {checked} files identical");
}

#[test]
fn official_json_examples_written_as_xml_read_back_the_same() {
    let files = files(&examples("json"), "json");
    let (mut same, mut total) = (0, 0);
    let mut differences = Vec::new();
    for file in &files {
        let official: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        total += 1;
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let xml = match json_to_xml(&official) {
            Ok(xml) => xml,
            Err(r) => {
                differences.push(format!("{name}: not written: {:?}", r.issues[0].en));
                continue;
            }
        };
        match xml_to_json(xml.as_bytes()) {
            Ok(again) if normalise(&again) == normalise(&official) => same += 1,
            Ok(again) => differences.push(format!(
                "{name}: {}",
                first_difference(&normalise(&again), &normalise(&official), "").unwrap_or_default()
            )),
            Err(r) => differences.push(format!(
                "{name}: not read back: {} {:?} {:?}",
                r.issues[0].rule, r.issues[0].en, r.issues[0].expression
            )),
        }
    }
    println!(
        "JSON → XML → JSON: {same} of {total} identical (modulo narrative whitespace and numbers)"
    );
    for difference in &differences {
        println!("  {difference}");
    }
    assert!(same * 100 >= total * 95, "{same} of {total}");
}
