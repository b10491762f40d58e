// The data walk of B parallel streams: the text is cut into B contiguous slices of equal length
// S = ⌊N / B⌋, and stream b reads its own slice from its start, T characters per update, carrying
// its own hidden state. All streams share the position within their slices, so an epoch ends for
// all at once: when fewer than T + 1 characters of a slice remain, a new epoch starts at position
// 0 with zero states. With B = 1 this is min-char-rnn's walk.
import { UserError } from '../util/errors';

/** Where the walk stands: the next window's position within each slice, and the epoch (from 1). */
export interface StreamWalk {
  position: number;
  epoch: number;
}

/** The length of each stream's slice; a text too short for B streams of T + 1 characters is refused (`text` names it). */
export function sliceLength(characters: number, streams: number, seqLength: number, text = `a text of ${characters} characters`): number {
  const slice = Math.floor(characters / streams);
  if (slice < seqLength + 1) {
    throw new UserError(
      `${text} cut into ${streams} streams leaves ${slice} per stream; ` +
        `seq-length ${seqLength} needs at least ${seqLength + 1} (use fewer streams or a shorter seq-length)`
    );
  }
  return slice;
}

/**
 * The start of each stream's window for the next update (inputs start..start+T−1, targets one
 * later), moving the walk on. `newEpoch` says the states must be reset to zero before it.
 */
export function nextWindows(characters: number, streams: number, seqLength: number, walk: StreamWalk): { starts: number[]; newEpoch: boolean } {
  const slice = sliceLength(characters, streams, seqLength);
  const newEpoch = slice - walk.position < seqLength + 1;
  if (newEpoch) {
    walk.position = 0;
    walk.epoch += 1;
  }
  const starts = Array.from({ length: streams }, (_, b) => b * slice + walk.position);
  walk.position += seqLength;
  return { starts, newEpoch };
}

/** Characters held out for validation: the last ⌊f·N⌋, at least 2 when f > 0. */
export function heldOutLength(characters: number, fraction: number, source: string): number {
  if (fraction === 0) return 0;
  const heldOut = Math.floor(fraction * characters);
  if (heldOut < 2) throw new UserError(`${source} has ${characters} characters; --val-fraction ${fraction} holds out ${heldOut}, and validation needs at least 2`);
  return heldOut;
}

/**
 * The held-out text cut for validation as the training text is cut for training: into `streams`
 * contiguous slices of ⌊N / streams⌋ characters (the rest, fewer than `streams`, unread), but at most
 * one stream per 2 characters, so that each slice holds a prediction.
 */
export function validationSlices(characters: number, streams: number): { streams: number; slice: number } {
  const used = Math.max(1, Math.min(streams, Math.floor(characters / 2)));
  return { streams: used, slice: Math.floor(characters / used) };
}

/**
 * Updates in one epoch: windows start at 0, T, 2T, … while T + 1 characters remain, in the
 * training text (without its held-out part), or in each stream's slice of it.
 */
export function updatesPerEpoch(characters: number, seqLength: number, streams = 1): number {
  const slice = Math.floor(characters / streams);
  return Math.floor((slice - seqLength - 1) / seqLength) + 1;
}
