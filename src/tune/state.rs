//! What `tact tune` must keep to resume after an interruption, kill -9 included: the trained
//! tensors, the optimiser's moments and where the run was. A checkpoint is two files written
//! beside each other and renamed into place, the JSON last, so a crash leaves either the old
//! checkpoint or the new one, never half of one.

use anyhow::Context;
use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// AdamW with decoupled weight decay and global-norm gradient clipping; its state is plain
/// tensors so that a checkpoint can hold it (candle's `AdamW` keeps its moments private).
pub struct AdamW {
    /// (name, parameter, learning-rate group).
    pub params: Vec<(String, Var, usize)>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    pub step: usize,
    pub weight_decay: f64,
}

impl AdamW {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    pub fn new(params: Vec<(String, Var, usize)>, weight_decay: f64) -> candle_core::Result<Self> {
        let zeros = |p: &[(String, Var, usize)]| -> candle_core::Result<Vec<Tensor>> {
            p.iter()
                .map(|(_, v, _)| v.as_tensor().zeros_like())
                .collect()
        };
        Ok(Self {
            first: zeros(&params)?,
            second: zeros(&params)?,
            params,
            step: 0,
            weight_decay,
        })
    }

    /// One update; `lrs[group]` is each group's learning rate now. Returns the gradient's
    /// global norm before clipping.
    pub fn step(&mut self, loss: &Tensor, lrs: &[f64], clip: f64) -> candle_core::Result<f32> {
        let grads = loss.backward()?;
        let gs: Vec<Option<Tensor>> = self
            .params
            .iter()
            .map(|(_, v, _)| grads.get(v).cloned())
            .collect();
        let mut sq = 0f64;
        for g in gs.iter().flatten() {
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
        let norm = sq.sqrt();
        let factor = if norm > clip { clip / norm } else { 1.0 };
        self.step += 1;
        let t = self.step as i32;
        let (c1, c2) = (1.0 - Self::BETA1.powi(t), 1.0 - Self::BETA2.powi(t));
        for (i, g) in gs.into_iter().enumerate() {
            let Some(g) = g else { continue };
            let g = (g * factor)?;
            let (_, var, group) = &self.params[i];
            let lr = lrs[*group];
            self.first[i] = ((&self.first[i] * Self::BETA1)? + (&g * (1.0 - Self::BETA1))?)?;
            self.second[i] =
                ((&self.second[i] * Self::BETA2)? + (g.sqr()? * (1.0 - Self::BETA2))?)?;
            let m_hat = (&self.first[i] / c1)?;
            let v_hat = (&self.second[i] / c2)?;
            let update = (m_hat / (v_hat.sqrt()? + Self::EPS)?)?;
            let decayed = (var.as_tensor() * (1.0 - lr * self.weight_decay))?;
            var.set(&(decayed - (update * lr)?)?)?;
        }
        Ok(norm as f32)
    }
}

/// Where a run stands, saved beside the tensors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// A digest of the run's configuration and data: a checkpoint resumes only its own run.
    pub run: String,
    /// Optimiser steps taken (over all epochs).
    pub step: usize,
    /// Calibration loss after each finished epoch.
    pub epoch_losses: Vec<f32>,
    /// Seconds spent training before this checkpoint (summed over interrupted sessions).
    pub seconds: f64,
}

pub struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn progress_path(&self) -> PathBuf {
        self.dir.join("progress.json")
    }

    fn tensors_path(&self, step: usize) -> PathBuf {
        self.dir.join(format!("state-{step}.safetensors"))
    }

    /// Where the trained tensors stood at the end of `epoch` (1-based).
    pub fn epoch_path(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("epoch-{epoch}.safetensors"))
    }

    /// Saves the parameters and the optimiser's moments, then the progress that names them.
    pub fn save(&self, opt: &AdamW, progress: &Progress) -> anyhow::Result<()> {
        let mut tensors = HashMap::new();
        for (i, (name, var, _)) in opt.params.iter().enumerate() {
            tensors.insert(format!("param.{name}"), var.as_tensor().clone());
            tensors.insert(format!("first.{name}"), opt.first[i].clone());
            tensors.insert(format!("second.{name}"), opt.second[i].clone());
        }
        let path = self.tensors_path(progress.step);
        let tmp = path.with_extension("tmp");
        candle_core::safetensors::save(&tensors, &tmp)?;
        std::fs::rename(&tmp, &path)?;
        let json = self.progress_path();
        let tmp = json.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(progress)?)?;
        std::fs::rename(&tmp, &json)?;
        // Older states are no longer named by the progress file.
        for entry in std::fs::read_dir(&self.dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("state-") && entry.path() != path {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Restores the latest checkpoint of the run `run` into `opt`; `None` when there is none.
    pub fn restore(&self, opt: &mut AdamW, run: &str) -> anyhow::Result<Option<Progress>> {
        let json = self.progress_path();
        if !json.exists() {
            return Ok(None);
        }
        let progress: Progress = serde_json::from_str(&std::fs::read_to_string(&json)?)
            .with_context(|| format!("reading {}", json.display()))?;
        anyhow::ensure!(
            progress.run == run,
            "{} belongs to another run (other data or settings); remove it or use another --checkpoint-dir",
            json.display()
        );
        let path = self.tensors_path(progress.step);
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
            .with_context(|| format!("reading {}", path.display()))?;
        for (i, (name, var, _)) in opt.params.iter().enumerate() {
            let get = |k: String| {
                tensors
                    .get(&k)
                    .cloned()
                    .with_context(|| format!("{} lacks {k}", path.display()))
            };
            var.set(&get(format!("param.{name}"))?)?;
            opt.first[i] = get(format!("first.{name}"))?;
            opt.second[i] = get(format!("second.{name}"))?;
        }
        opt.step = progress.step;
        Ok(Some(progress))
    }

    /// Saves the parameters as they stand at the end of an epoch.
    pub fn save_epoch(&self, opt: &AdamW, epoch: usize) -> anyhow::Result<()> {
        let tensors: HashMap<String, Tensor> = opt
            .params
            .iter()
            .map(|(name, var, _)| (name.clone(), var.as_tensor().clone()))
            .collect();
        let path = self.epoch_path(epoch);
        let tmp = path.with_extension("tmp");
        candle_core::safetensors::save(&tensors, &tmp)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// Loads an epoch's parameters into `opt`'s variables.
    pub fn load_epoch(&self, opt: &AdamW, epoch: usize) -> anyhow::Result<()> {
        let path = self.epoch_path(epoch);
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
            .with_context(|| format!("reading {}", path.display()))?;
        for (name, var, _) in &opt.params {
            var.set(
                tensors
                    .get(name)
                    .with_context(|| format!("{} lacks {name}", path.display()))?,
            )?;
        }
        Ok(())
    }
}
