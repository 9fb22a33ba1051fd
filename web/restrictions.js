// Why I cannot write in a room: removed from it (kicked, banned, left), it
// was deleted, or I am muted there. What the composer's note and the room's
// notices say comes from here; access.js keeps the state and draws it. No
// DOM here.

import { S } from './state.js';
import { roomLabel } from './membership.js';

const untilFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "until 3 Mar 2026, 14:05", or '' for no end (or one that cannot be read). */
export function untilText(until) {
  if (!until) return '';
  const d = new Date(until);
  return Number.isNaN(d.getTime()) ? '' : `until ${untilFormat.format(d)}`;
}

/** What a `removed` event means to its reader; `label` is "#room" or a direct room's names. */
export function removalText(label, reason, message) {
  if (reason === 'left') return `You left ${label}.`;
  const why = reason === 'banned' || reason === 'kicked' ? reason : 'removed';
  const said = typeof message === 'string' && message.trim() ? `: ${message.trim()}` : '';
  return `You were removed from ${label} (${why})${said}.`;
}

export function deletedText(label) {
  return `${label} was deleted.`;
}

export function mutedText(label, until) {
  const when = untilText(until);
  return `You are muted in ${label}${when ? ` ${when}` : ''}: you can read, not write.`;
}

/**
 * Why the composer is closed in `name`, or null:
 * { kind: 'gone' | 'muted', text, rejoin } (rejoin: a public room, which a
 * click on "Rejoin" may let me back into; the server says if not).
 */
export function restriction(name) {
  if (!name) return null;
  const gone = S.gone.get(name);
  if (gone) return { kind: 'gone', text: gone.text, rejoin: !!gone.rejoin };
  const muted = S.views.get(name)?.muted;
  if (muted) return { kind: 'muted', text: muted.text || mutedText(roomLabel(name), muted.until), rejoin: false };
  return null;
}
