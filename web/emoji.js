// The reaction picker's choices: a short list of common emoji, and the ones
// this browser used last (kept in localStorage, newest first). No DOM here.

/** The picker's fixed choices, each with the name a screen reader says. */
export const COMMON_EMOJI = [
  ['👍', 'thumbs up'],
  ['👎', 'thumbs down'],
  ['❤️', 'red heart'],
  ['😂', 'tears of joy'],
  ['😮', 'surprised'],
  ['😢', 'crying'],
  ['🎉', 'party popper'],
  ['🙏', 'folded hands'],
  ['👀', 'eyes'],
  ['🔥', 'fire'],
  ['✅', 'check mark'],
  ['❌', 'cross mark'],
  ['🚀', 'rocket'],
  ['💯', 'hundred points'],
  ['🤔', 'thinking'],
  ['👏', 'clapping hands'],
];

export const RECENT_KEY = 'palaver.emoji.recent';
/** How many recently used emoji the picker shows. */
export const RECENT_MAX = 8;

const NAMES = new Map(COMMON_EMOJI);

/** What a screen reader calls `emoji`: its name for the common ones, else the emoji (or :short_name:) itself. */
export function emojiName(emoji) {
  return NAMES.get(emoji) || emoji;
}

/**
 * The recently used emoji stored in `storage` (newest first). Whatever
 * else is found there (another version's format, a hand edit) reads as
 * none rather than breaking the picker.
 */
export function recentEmoji(storage) {
  let list;
  try {
    list = JSON.parse(storage.getItem(RECENT_KEY) || '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  const seen = new Set();
  const out = [];
  for (const e of list) {
    if (typeof e !== 'string' || !e || e.length > 64 || seen.has(e)) continue;
    seen.add(e);
    out.push(e);
    if (out.length === RECENT_MAX) break;
  }
  return out;
}

/** `emoji` was just used: first in the list, once; the oldest fall off. Returns the new list. */
export function rememberEmoji(storage, emoji) {
  const list = [emoji, ...recentEmoji(storage).filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  try {
    storage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // Storage full or refused (private mode): the picker just forgets.
  }
  return list;
}
