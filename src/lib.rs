//! tact: decides how a brand's moderation team should respond to each social-media comment.
//!
//! Layers, kept apart as in text-embeddings-inference: [`model`] (weights, encoder, heads),
//! [`classify`] (texts → calibrated scores), [`playbook`] (scores + thread → decision), and the
//! front ends: `serve` (HTTP), `score` (archives), [`eval`] (labelled data); [`store`] is what
//! the front ends remember between comments (authors' histories, the audit log, feedback).

pub mod bench;
pub mod classify;
pub mod cli;
pub mod comment;
pub mod data;
pub mod embed_cache;
pub mod eval;
pub mod labels;
pub mod lang;
pub mod model;
pub mod objective;
pub mod pipeline;
pub mod playbook;
pub mod reply_scores;
pub mod score;
pub mod serve;
pub mod store;
pub mod train;
pub mod tune;
