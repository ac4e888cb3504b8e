/**
 * Names the app recognises its own things by: its branches and the hidden marker of its
 * dashboard issue. Renderers and triggers must agree on these, so they live in one place.
 */

/** Every branch the app owns starts with this (`sops-rekey/<key>-v<N>`). */
export const BRANCH_PREFIX = 'sops-rekey/';

/** Hidden first line of the dashboard issue body. */
export const DASHBOARD_MARKER = '<!-- sops-rekey:dashboard -->';
