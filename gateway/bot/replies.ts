/** Sentences the bot says to people: short, plain, never a stack trace. */
export const replies = {
  onboarding:
    'Hi! This assistant is available to invited teams only. Open the invite link your company admin sent you, or ask for access with /request <team>.',
  onboardingWhiteLabel: (tenant: string) =>
    `Hi! This is ${tenant}'s assistant, for its staff only. Open the invite link your admin sent you, or ask for access with /request.`,
  welcome: (tenant: string, name: string) =>
    `Welcome, ${name}! You are now connected to ${tenant}'s assistant. Just write your question.`,
  welcomeBack: (tenant: string) => `You are connected to ${tenant}'s assistant. Just write your question.`,
  tenantSuspended: (tenant: string) => `${tenant}'s assistant is paused right now. Please contact your admin.`,
  userSuspended: 'Your access has been paused. Please contact your admin.',
  noChatFeature: 'Chatting with the assistant is not included for your account. Please contact your admin.',
  dailyLimit: (limit: number) =>
    `Your team has reached its plan's limit of ${limit.toLocaleString('en-US')} ${limit === 1 ? 'message' : 'messages'} today. It resets at midnight (UTC).`,
  budgetSpent: (budget: string) =>
    `Your team has used its plan's monthly budget of ${budget} tokens. It resets on the 1st of next month (UTC).`,
  limit: (detail: string) => `You have reached your plan's limit: ${detail}.`,
  limitRetry: (detail: string, when: string) => `You have reached your plan's limit: ${detail}. Try again ${when}.`,
  busy: 'The assistant is busy right now. Please try again in a minute.',
  teamOnlyOne: (tenant: string) => `This bot talks for ${tenant} only.`,
  teamOnly: (tenant: string) => `You are in one team: ${tenant}.`,
  teamList: 'Your teams:',
  teamHow: 'Switch with /team <name>. Each team keeps its own conversations.',
  teamUnknown: (team: string) => `You are not in a team called "${team}". /team lists yours.`,
  teamAmbiguous: (name: string, slugs: string[]) =>
    `Several of your teams are called ${name}. Choose one by its short name: ${slugs.map((s) => `/team ${s}`).join(', ')}.`,
  teamChosen: (tenant: string) =>
    `Now talking for ${tenant}. Its conversations and limits apply from your next message.`,
  internal: 'Sorry, something went wrong on our side. Please try again in a minute.',
  stillAnswering: 'I am still answering your previous message. Send /stop to end it first.',
  backlogFull:
    'I still have many of your earlier messages to answer, so I am skipping new ones for now. Please send them again once I have caught up.',
  stoppedNote: 'Stopped.',
  interruptedNote: 'The answer was cut off. Please try again in a minute.',
  nothingToStop: 'Nothing to stop: no answer is being written right now.',
  unknownCommand: 'Unknown command. /help lists what I can do.',
  emptyMention: 'Yes? Write your question after the mention.',
  newConversation: 'Started a new conversation. Earlier messages will not be used.',
  adminOnly: 'Only your team admins can do that.',
  privateOnly: 'Please use this command in a private chat with me.',

  invite: (role: 'member' | 'admin', link: string, expires: string) =>
    `Here is a single-use ${role === 'admin' ? 'admin ' : ''}invite link, valid until ${expires}:\n${link}\n\nForward it to the person you invite; it works once.`,
  inviteUsage: 'Use /invite for a member or /invite admin for an admin.',

  suspendUsage: 'Use /suspend <user id or @username>. /users lists your team.',
  unsuspendUsage: 'Use /unsuspend <user id or @username>. /users lists your team.',
  noSuchUser: (ref: string) => `Nobody in your team matches "${ref}". /users lists your team.`,
  suspended: (name: string) => `${name} is suspended. They can no longer use the assistant.`,
  alreadySuspended: (name: string) => `${name} was already suspended.`,
  unsuspended: (name: string) => `${name} can use the assistant again.`,
  alreadyActive: (name: string) => `${name} is already active.`,
  youWereSuspended: (tenant: string) => `Your access to ${tenant}'s assistant has been paused by an admin.`,
  youWereUnsuspended: (tenant: string) => `Your access to ${tenant}'s assistant is back. Just write your question.`,

  requestUsage: 'Use /request <team>, where <team> is the short name your company uses here (e.g. abc-steel).',
  requestSent: (team: string) =>
    `Your request was passed on to the admins of "${team}", if that team uses this assistant. You will get a message here when they decide.`,
  requestPending: (tenant: string) => `Your request to join ${tenant} is still waiting for an admin.`,
  requestTooMany: 'You already have several requests waiting. Please wait for an admin to answer them.',
  alreadyMember: (tenant: string) => `You are already a member of ${tenant}. Just write your question.`,
  requestNotice: (name: string, username: string | null, tenant: string, code: string) =>
    `${name}${username ? ` (@${username})` : ''} asks to join ${tenant}'s assistant.\n\nApprove with /approve ${code} or deny with /deny ${code}.`,
  approveUsage: 'Use /approve <code> or /deny <code> with the code from the request.',
  approved: (name: string) => `${name} now has access to the assistant.`,
  denied: (name: string) => `${name}'s request was denied.`,
  youWereApproved: (tenant: string) =>
    `An admin approved your request: you are now connected to ${tenant}'s assistant. Just write your question.`,
  youWereDenied: (tenant: string) => `Your request to join ${tenant}'s assistant was not approved.`,

  groupEnabled: (tenant: string) =>
    `The assistant is on in this group for ${tenant}. Members of ${tenant} can mention me or reply to my messages; I ignore everyone else.`,
  groupAlreadyEnabled: (tenant: string) => `The assistant is already on in this group for ${tenant}.`,
  groupDisabled: 'The assistant is now off in this group.',
  groupNotEnabled: 'The assistant was not on in this group.',
  groupOnlyCommand: 'Use this command in the group you want to turn the assistant on or off in.',
  groupHello:
    'Hi! I stay quiet here until an admin of your team turns me on with /enable_group. After that I answer members who mention me or reply to me.',
} as const;

/** `/help` for members; admins get `adminHelp` appended. */
export const memberHelp = [
  'Write a question and the assistant answers. In groups, mention me or reply to my message.',
  '',
  '/new - start a new conversation',
  '/stop - stop the answer being written',
  "/usage - your usage and your team's budget",
  '/whoami - who you are to the assistant',
  '/team - your teams, if you are in several (switch with /team <name>)',
  '/help - this message',
].join('\n');

/** The admin part of `/help`. */
export const adminHelp = [
  '',
  'Admin commands:',
  '/invite - a single-use invite link for a member (/invite admin for an admin)',
  '/users - your team and waiting requests',
  "/suspend <id or @username> - pause someone's access (/unsuspend to undo)",
  '/approve <code> - accept a request to join (/deny <code> to refuse)',
  '/enable_group - turn the assistant on in a group (send it there; /disable_group to undo)',
].join('\n');
