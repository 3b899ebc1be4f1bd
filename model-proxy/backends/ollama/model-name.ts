/**
 * Ollama's model naming: `llama3.1` means `llama3.1:latest`, and names compare
 * case-insensitively. A registry host with a port (`host:5000/llama3`) is not a tag.
 */
export function normalizeModelName(name: string): string {
  const trimmed = name.trim().toLowerCase();
  const lastSegment = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? trimmed : `${trimmed}:latest`;
}
