// The transport-neutral message every command returns; bot/ renders it to Block Kit, the console to text.

/** A button; `value` is opaque to users (never put identities in it for blind reviews). */
export interface MessageButton {
  text: string;
  actionId: string;
  value: string;
  style?: 'primary' | 'danger';
  /** Confirmation dialog before the action runs. */
  confirm?: { title: string; text: string; confirm: string; deny: string };
}

/**
 * Escapes untrusted text (model output, names from Langfuse or Slack) for a `text` section, which is trusted
 * mrkdwn: & < > become entities, so `<!channel>`, `<@U…>` and links in the data stay inert. Every other section
 * kind carries raw text that the renderer escapes itself.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A block of content inside a message. */
export type MessageSection =
  /** Trusted mrkdwn written by us; wrap any untrusted part in `escapeMrkdwn`. */
  | { kind: 'text'; text: string }
  /** Label/value pairs shown side by side. */
  | { kind: 'fields'; fields: { label: string; value: string }[] }
  /** Preformatted text such as model output or a diff (shown as code, never interpreted as markup). */
  | { kind: 'code'; text: string; label?: string }
  /** Small grey notes. */
  | { kind: 'context'; items: string[] }
  | { kind: 'buttons'; buttons: MessageButton[] }
  | { kind: 'divider' }
  /** An image already reachable by URL, or a local file the transport uploads. */
  | { kind: 'image'; alt: string; url?: string; path?: string };

/** A transport-neutral message: title, sections, optional thread replies. */
export interface Message {
  title: string;
  sections: MessageSection[];
  /** Plain-text summary used for notifications and as Slack's `text` fallback. */
  summary?: string;
  /** Posted as replies in the thread of this message. */
  thread?: Message[];
  /** Only the requesting user sees it (Slack ephemeral). */
  ephemeral?: boolean;
}
