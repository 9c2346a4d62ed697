//! tact: decides how a brand's moderation team should respond to each social-media comment.
//!
//! Layers, kept apart as in text-embeddings-inference: [`model`] (weights, encoder, heads),
//! [`classify`] (texts → calibrated scores), [`playbook`] (scores + thread → decision), and the
//! front ends: `serve` (HTTP), `score` (archives), [`eval`] (labelled data).

pub mod comment;
pub mod labels;
pub mod playbook;
pub mod model;
pub mod classify;
pub mod lang;
pub mod cli;
