// ui.js - the few DOM helpers every view uses: building elements, forms
// whose errors appear next to the field they name, a confirmation dialog,
// the status line, and formatting.
//
// Everything is built with createElement and textContent, never innerHTML,
// so no text from the API (names, memories, audit details) can become markup.

import { ApiError } from './api.js';

let idCounter = 0;
export function uid(prefix) {
	idCounter += 1;
	return `${prefix}-${idCounter}`;
}

// h('button', {class: 'x', onclick: f}, 'text', child...) -> element.
export function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [name, value] of Object.entries(attrs || {})) {
		if (value === undefined || value === null || value === false)
			continue;
		if (name.startsWith('on'))
			el.addEventListener(name.slice(2), value);
		else if (name === 'class')
			el.className = value;
		else if (value === true)
			el.setAttribute(name, '');
		else
			el.setAttribute(name, String(value));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const child of children.flat(Infinity)) {
		if (child === undefined || child === null || child === false)
			continue;
		el.append(child instanceof Node ? child : document.createTextNode(String(child)));
	}
}

export function replace(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

// The polite status line under the header, for what went right.
export function flash(text) {
	const el = document.getElementById('flash');
	replace(el, text ? h('p', {}, text) : null);
}

// What went wrong, in plain words, with the request id to quote.
export function errorText(err) {
	if (err instanceof ApiError)
		return err.requestId ? `${err.plain} (request ${err.requestId})` : err.plain;
	return err && err.message ? err.message : String(err);
}

export function errorBox(err) {
	return h('p', { class: 'error', role: 'alert' }, errorText(err));
}

// A labelled input; returns the wrapper, with .input set.
export function field(label, { name, type = 'text', value = '', required = false, autocomplete, hint, min, max, step, rows, options, placeholder } = {}) {
	const id = uid(name || 'field');
	let input;
	if (options) {
		input = h('select', { id, name });
		for (const opt of options) {
			const [val, text] = Array.isArray(opt) ? opt : [opt, opt];
			input.append(h('option', { value: val, selected: String(val) === String(value) }, text));
		}
	} else if (type === 'textarea') {
		input = h('textarea', { id, name, rows: rows || 3, required, placeholder });
		input.value = value;
	} else {
		input = h('input', { id, name, type, required, autocomplete, min, max, step, placeholder });
		input.value = value;
	}
	const hintId = hint ? `${id}-hint` : null;
	if (hintId)
		input.setAttribute('aria-describedby', hintId);
	const wrap = h('div', { class: 'field' },
		h('label', { for: id }, label),
		input,
		hint ? h('small', { id: hintId }, hint) : null,
		h('span', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' }));
	wrap.input = input;
	return wrap;
}

function clearFieldErrors(form) {
	for (const el of form.querySelectorAll('[aria-invalid]')) {
		el.removeAttribute('aria-invalid');
		const error = document.getElementById(`${el.id}-error`);
		if (error)
			error.textContent = '';
	}
	const old = form.querySelector(':scope > .error');
	if (old)
		old.remove();
}

// The API names the field of a 400 at the start of its message ("name: ...",
// "unknown field: x", "metadata.n cannot be kept exactly"): when that field
// is in the form, the message goes next to it.
function fieldOfMessage(form, message) {
	const m = /^(?:unknown field: )?([A-Za-z][A-Za-z0-9_.]*)/.exec(message || '');
	if (!m)
		return null;
	const top = m[1].split('.')[0];
	return form.querySelector(`[name="${CSS.escape(top)}"]`);
}

function showError(form, err) {
	const named = err instanceof ApiError ? err.status === 400 : err instanceof Error;
	const target = named ? fieldOfMessage(form, err.message) : null;
	if (target) {
		target.setAttribute('aria-invalid', 'true');
		const slot = document.getElementById(`${target.id}-error`);
		if (slot) {
			slot.textContent = errorText(err);
			target.focus();
			return;
		}
	}
	const box = errorBox(err);
	form.prepend(box);
}

// form(fields, submitLabel, onSubmit): onSubmit(values, form) may throw; its
// error is shown in the form, and the button is disabled while it runs.
export function form(fields, submitLabel, onSubmit, { extra = [], className = 'stack' } = {}) {
	const button = h('button', { type: 'submit' }, submitLabel);
	const el = h('form', { class: className, novalidate: true }, fields, h('div', { class: 'actions' }, button, extra));
	el.addEventListener('submit', async (event) => {
		event.preventDefault();
		clearFieldErrors(el);
		const values = {};
		for (const input of el.querySelectorAll('input, select, textarea'))
			if (input.name)
				values[input.name] = input.type === 'checkbox' ? input.checked : input.value;
		button.disabled = true;
		el.setAttribute('aria-busy', 'true');
		try {
			await onSubmit(values, el);
		} catch (err) {
			showError(el, err);
		} finally {
			button.disabled = false;
			el.removeAttribute('aria-busy');
		}
	});
	return el;
}

// A button whose action's error appears beside it.
export function actionButton(label, action, { className, ariaLabel } = {}) {
	const button = h('button', { type: 'button', class: className, 'aria-label': ariaLabel });
	button.textContent = label;
	button.addEventListener('click', async () => {
		const next = button.nextElementSibling;
		if (next && next.classList.contains('error'))
			next.remove();
		button.disabled = true;
		try {
			await action();
		} catch (err) {
			button.after(errorBox(err));
		} finally {
			button.disabled = false;
		}
	});
	return button;
}

// A modal <dialog> asking yes or no; resolves true for the confirming button.
export function confirmDialog(text, confirmLabel = 'Confirm') {
	return new Promise((resolve) => {
		const titleId = uid('dialog');
		const yes = h('button', { type: 'button', class: 'danger' }, confirmLabel);
		const no = h('button', { type: 'button' }, 'Cancel');
		const dialog = h('dialog', { 'aria-labelledby': titleId }, h('p', { id: titleId }, text), h('div', { class: 'actions' }, yes, no));
		const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
		yes.addEventListener('click', () => done(true));
		no.addEventListener('click', () => done(false));
		dialog.addEventListener('cancel', (event) => { event.preventDefault(); done(false); });
		document.body.append(dialog);
		dialog.showModal();
		no.focus();
	});
}

export function when(iso) {
	if (!iso)
		return '—';
	const date = new Date(iso);
	return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

// A table of rows: columns are [heading, row => cell content].
export function table(caption, columns, rows) {
	return h('table', {},
		h('caption', {}, caption),
		h('thead', {}, h('tr', {}, columns.map(([heading]) => h('th', { scope: 'col' }, heading)))),
		h('tbody', {}, rows.length
			? rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row)))))
			: h('tr', {}, h('td', { colspan: columns.length }, 'None yet.'))));
}

export function section(title, ...children) {
	const id = uid('section');
	return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), children);
}
