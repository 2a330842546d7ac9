//! Fuzz the dashboard's display-filter language and column lists: any text either parses
//! or gives an error with a position inside the input; what parses evaluates on a call.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siplens::engine::Severity;
use siplens::tui::columns::Column;
use siplens::tui::filter::{Filter, FilterFields, NumField, TextField};

struct Call;

impl FilterFields for Call {
    fn text<'s>(&'s self, field: TextField, out: &mut Vec<&'s str>) {
        out.push(match field {
            TextField::Src => "10.0.0.1:5060",
            TextField::Dst => "[2001:db8::1]:5060",
            TextField::Ua => "Friendly-Scanner",
            _ => "sip:alice@example.com",
        });
    }
    fn number(&self, field: NumField) -> Option<f64> {
        (field != NumField::Status).then_some(3.0)
    }
    fn severity(&self) -> Option<Severity> {
        Some(Severity::High)
    }
    fn header<'s>(&'s self, _name: &str, out: &mut Vec<&'s str>) {
        out.push("42");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Filter::parse(text) {
        Ok(f) => {
            let _ = f.matches(&Call);
            let _ = f.header_names_in();
        }
        Err(e) => {
            assert!(e.pos <= text.len(), "error position inside the input");
            let _ = e.to_string();
        }
    }
    let _ = Column::parse_list(text);
});
