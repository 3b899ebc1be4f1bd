/**
 * The system prompt of a chat turn. The operator's protected core prompt library and the
 * tenant's persona replace this baseline when they exist; it states who is asking so the
 * model answers as the tenant's assistant.
 */
export function systemPrompt(tenantName: string, userName: string): string {
  return [
    `You are the AI assistant of ${tenantName}. You are talking with ${userName}, a member of its staff, on Telegram.`,
    'Answer clearly and concisely. If you do not know something, say so instead of guessing.',
  ].join('\n');
}
