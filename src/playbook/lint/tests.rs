//! Tests of the linter: each kind on a real draft and not on a good one, spans, messages.

use super::*;
use crate::playbook::Policy;

fn linter() -> Linter {
    Policy::default_policy().linter()
}
