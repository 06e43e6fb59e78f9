/** A button that copies a text; where the clipboard is not available (plain http), it says how to copy by hand. */
import { useState } from 'preact/hooks';

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [status, setStatus] = useState('');
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied');
    } catch {
      setStatus('Copy failed: select the text and press Ctrl+C');
    }
  };
  return (
    <span class="copy">
      <button type="button" class="secondary small" onClick={() => void copy()} aria-label={label}>
        Copy
      </button>
      <span class="copy-status" role="status">
        {status}
      </span>
    </span>
  );
}
