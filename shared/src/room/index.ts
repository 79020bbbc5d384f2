/**
 * The room core's public surface: what the server decides per document, as pure values
 * (room-core.ts explains the whole; the other files each hold one rule).
 */
export type { RoomLog } from './room-log.js';
export { RoomCore, type RoomPeer, type RoomCoreOptions, type Joined, type LoadedState } from './room-core.js';
export { planWelcome, welcomeMessage, type WelcomePlan } from './welcome.js';
export { planHistoryPage, historyPageMessage, MAX_PAGE_CHECKPOINTS, MAX_PAGE_BYTES, PAGE_CHUNK, type HistoryPlan, type PageCost } from './history-page.js';
export { commitStream, type CommitItem, type Send } from './commit-stream.js';
export { planCatchUp, type CatchUpPlan } from './remote-commits.js';
export { RemotePresence, type RemoteClient } from './remote-presence.js';
export { LoadGovernor, type LoadGovernorOptions } from './load-governor.js';
