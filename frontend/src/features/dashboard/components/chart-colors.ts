/**
 * Okabe–Ito colours (told apart with the common colour-vision deficiencies); every chart also
 * names its values in text, so colour is never the only cue.
 */
export const CHART_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#7a6a00', '#4a5560'];

export const colorAt = (index: number): string => CHART_COLORS[index % CHART_COLORS.length]!;

export const SERVICE_LEVEL_COLORS = { STAT: '#b3261e', EMERGENCY: '#D55E00', ROUTINE: '#0072B2' } as const;

export const TREND_COLORS = { uploads: '#0b5394', forwarded: '#146c2e', failed: '#b3261e' } as const;
