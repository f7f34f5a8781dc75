// limits.js - the form for a tenant's limits (and, for admins, its
// ceilings), and the usage chart drawn in SVG by the page itself.

import { request } from './api.js';
import { h, field, form } from './ui.js';

export const LIMIT_FIELDS = [
	['qps', 'Requests a second (qps)', 'The token bucket refills at this rate.'],
	['burst', 'Burst', 'Requests allowed at once before the rate applies.'],
	['concurrency', 'Concurrency', 'Requests in flight at once.'],
	['monthlyRequests', 'Requests a month', 'Admitted requests per calendar month (UTC).'],
	['maxMemories', 'Memories', 'Memories stored at most.'],
];

// limitsForm(values, ceilings, path, onSaved): PUT path with the changed fields.
export function limitsForm(values, ceilings, path, onSaved, submitLabel = 'Save limits') {
	const fields = LIMIT_FIELDS.map(([name, label, hint]) => field(label, {
		name, type: 'number', min: 1, max: ceilings ? ceilings[name] : undefined, step: 1, value: values[name],
		hint: ceilings ? `${hint} At most ${ceilings[name].toLocaleString()}.` : hint,
	}));
	return form(fields, submitLabel, async (v) => {
		const body = {};
		for (const [name] of LIMIT_FIELDS) {
			const text = v[name].trim();
			if (text !== '' && Number(text) !== values[name])
				body[name] = /^-?\d+$/.test(text) ? Number(text) : text;
		}
		const saved = await request('PUT', path, { body });
		onSaved(saved);
	}, { className: 'grid-form' });
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
	const el = document.createElementNS(SVG, tag);
	for (const [name, value] of Object.entries(attrs))
		el.setAttribute(name, String(value));
	if (text !== undefined)
		el.textContent = text;
	return el;
}

// A horizontal bar per row [label, value, max]: the share of its allowance.
// With shares false the bars compare the rows with each other, and the
// labels give only the counts.
export function usageChart(title, rows, { shares = true } = {}) {
	const width = 480;
	const barHeight = 22;
	const gap = 14;
	const labelWidth = 130;
	const height = rows.length * (barHeight + gap) + gap;
	const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart' });
	chart.append(svg('title', {}, title));
	rows.forEach(([label, value, max], i) => {
		const y = gap + i * (barHeight + gap);
		const share = max > 0 ? Math.min(1, value / max) : 0;
		const barWidth = width - labelWidth - 10;
		chart.append(
			svg('text', { x: 0, y: y + barHeight * 0.7, class: 'chart-label' }, label),
			svg('rect', { x: labelWidth, y, width: barWidth, height: barHeight, class: 'chart-track', rx: 3 }),
			svg('rect', { x: labelWidth, y, width: Math.max(share > 0 ? 2 : 0, barWidth * share), height: barHeight, class: share > 0.9 ? 'chart-bar high' : 'chart-bar', rx: 3 }),
			svg('text', { x: labelWidth + 6, y: y + barHeight * 0.7, class: 'chart-value' },
				shares && max > 0 ? `${value.toLocaleString()} of ${max.toLocaleString()}` : value.toLocaleString()));
	});
	// The same figures as text, for screen readers and copying.
	const list = h('ul', { class: 'visually-hidden' }, rows.map(([label, value, max]) => h('li', {}, shares ? `${label}: ${value} of ${max}` : `${label}: ${value}`)));
	return h('figure', {}, chart, list, h('figcaption', {}, title));
}

export function usageView(usage, limits) {
	const areas = Object.entries(usage.requests);
	const largest = Math.max(1, ...areas.map(([, n]) => n));
	return h('div', {},
		areas.length ? usageChart(`Requests by area in ${usage.month}`, areas.map(([area, n]) => [area, n, largest]), { shares: false }) : null,
		usageChart(`Usage in ${usage.month}, against the tenant's limits`, [
			['Requests', usage.total, limits ? limits.monthlyRequests : 0],
			['Memories stored', usage.memoriesStored, limits ? limits.maxMemories : 0],
		]),
		h('dl', { class: 'facts' },
			h('dt', {}, 'Month'), h('dd', {}, usage.month),
			areas.length ? areas.map(([area, n]) => [h('dt', {}, `Requests to ${area}`), h('dd', {}, n.toLocaleString())]) : [h('dt', {}, 'Requests'), h('dd', {}, 'none yet')],
			h('dt', {}, 'Embedding calls'), h('dd', {}, usage.embeddingCalls.toLocaleString())));
}
