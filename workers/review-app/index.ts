// The review web app's public surface: the app factory, how it is served, and Temporal's part.
export { createReviewApp, type ReviewAppOptions } from './review-app.js';
export { assertSafeBinding, startReviewServer, type ReviewServer } from './review-server.js';
export { temporalRunStatus, type ReviewTemporal } from './temporal-status.js';
export { tokenHeader } from './access-guard.js';
