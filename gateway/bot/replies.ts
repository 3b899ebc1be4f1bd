/** Sentences the bot says to people: short, plain, never a stack trace. */
export const replies = {
  onboarding: 'Hi! This assistant is available to invited teams only. Ask your company admin for an invite link.',
  welcome: (tenant: string, name: string) =>
    `Welcome, ${name}! You are now connected to ${tenant}'s assistant. Just write your question.`,
  welcomeBack: (tenant: string) => `You are connected to ${tenant}'s assistant. Just write your question.`,
  tenantSuspended: (tenant: string) => `${tenant}'s assistant is paused right now. Please contact your admin.`,
  userSuspended: 'Your access has been paused. Please contact your admin.',
  dailyLimit: (limit: number) =>
    `Your team has reached its plan's limit of ${limit} messages today. It resets at midnight (UTC).`,
  limit: (detail: string) => `You have reached a usage limit of your plan: ${detail}`,
  busy: 'The assistant is busy right now. Please try again in a minute.',
  internal: 'Sorry, something went wrong on our side. Please try again in a minute.',
  newConversation: 'Started a new conversation. Earlier messages will not be used.',
  help: [
    'Write a question and the assistant answers.',
    '',
    '/new - start a new conversation',
    '/help - this message',
  ].join('\n'),
} as const;
