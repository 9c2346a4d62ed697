//! Running the model over many texts: texts of similar length share a batch, so padding
//! (candle) and uneven work (int8) cost little, and results come back in input order. This is
//! the one place that sorts, batches and restores the order; every front end that runs more
//! than one batch goes through it.

use super::tokens::Tokens;

/// Calls `run` on each batch of at most `batch_size` texts of similar length, shortest first,
/// with the batch's positions in `tokens` and its tokens (borrowed, never copied).
/// A `batch_size` of 0 counts as 1.
pub fn for_each_batch<'a, E>(
    tokens: &[&'a Tokens],
    batch_size: usize,
    mut run: impl FnMut(&[usize], &[&'a Tokens]) -> Result<(), E>,
) -> Result<(), E> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| tokens[i].ids.len());
    for positions in order.chunks(batch_size.max(1)) {
        let batch: Vec<&Tokens> = positions.iter().map(|&i| tokens[i]).collect();
        run(positions, &batch)?;
    }
    Ok(())
}

/// Runs `run` over `tokens` in batches of similar length (see [`for_each_batch`]), `run`
/// giving one result per text of its batch, and returns the results in the order of `tokens`.
pub fn in_input_order<'a, T, E>(
    tokens: &[&'a Tokens],
    batch_size: usize,
    mut run: impl FnMut(&[&'a Tokens]) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let mut results: Vec<Option<T>> = std::iter::repeat_with(|| None).take(tokens.len()).collect();
    for_each_batch(tokens, batch_size, |positions, batch| {
        for (&i, result) in positions.iter().zip(run(batch)?) {
            results[i] = Some(result);
        }
        Ok(())
    })?;
    Ok(results
        .into_iter()
        .map(|r| r.expect("`run` gives one result per text"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(len: usize) -> Tokens {
        Tokens {
            ids: vec![7; len],
            truncated: false,
            cut: None,
        }
    }

    #[test]
    fn batches_are_length_sorted_and_results_come_back_in_input_order() {
        let all: Vec<Tokens> = [5, 1, 4, 2, 3].into_iter().map(tokens).collect();
        let refs: Vec<&Tokens> = all.iter().collect();
        let mut batches = Vec::new();
        let lens = in_input_order(&refs, 2, |batch| {
            let lens: Vec<usize> = batch.iter().map(|t| t.ids.len()).collect();
            batches.push(lens.clone());
            Ok::<_, ()>(lens)
        })
        .unwrap();
        assert_eq!(lens, [5, 1, 4, 2, 3]);
        assert_eq!(batches, [vec![1, 2], vec![3, 4], vec![5]]);
    }

    #[test]
    fn a_batch_size_of_zero_runs_one_text_at_a_time() {
        let all: Vec<Tokens> = [2, 1].into_iter().map(tokens).collect();
        let refs: Vec<&Tokens> = all.iter().collect();
        let mut seen = Vec::new();
        for_each_batch(&refs, 0, |positions, _| {
            seen.push(positions.to_vec());
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(seen, [vec![1], vec![0]]);
    }

    #[test]
    fn the_first_failing_batch_stops_the_run() {
        let all: Vec<Tokens> = [1, 2, 3].into_iter().map(tokens).collect();
        let refs: Vec<&Tokens> = all.iter().collect();
        let mut calls = 0;
        let got: Result<Vec<usize>, String> = in_input_order(&refs, 1, |_| {
            calls += 1;
            Err("broken".to_string())
        });
        assert_eq!(got, Err("broken".to_string()));
        assert_eq!(calls, 1);
    }
}
