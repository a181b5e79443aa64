import type { HTMLElement } from 'node-html-parser';
import { loadHtmlParser } from '../lazy-modules';

/** One choice in the hub's spawn form: `id` is the value the hub expects, `label` what people read. */
export interface SpawnFormOption {
  id: string;
  label: string;
  description?: string;
}

/** The notebook-class choice of a spawn form: the form field's name and its choices. */
export interface SpawnForm {
  key: string;
  options: SpawnFormOption[];
}

/**
 * Read the notebook-class choice out of a hub's spawn page (GET hub/spawn).
 *
 * Handles what spawners render: ProfilesSpawner / BatchSpawner profiles as
 * `<select name="profile"><option value=…>Label</option>`, KubeSpawner's profile_list as
 * `<input type="radio" name="profile" value=…>` inside a `<label for=…>` holding an `<h3>` name
 * and a `<p>` description, and hand-written forms with any field name (`notebook_class`, …).
 * The first select or radio group in the spawn form wins: KubeSpawner's per-profile option
 * selects come after the profile radios. Returns null when the page has no such choice.
 */
export function parseSpawnForm(html: string): SpawnForm | null {
  const root = loadHtmlParser().parse(html, { comment: false });
  const form =
    root.querySelector('form#spawn_form') ??
    root.querySelectorAll('form').find((f) => f.querySelector('select, input[type=radio]')) ??
    null;
  if (!form) return null;

  const first = form.querySelectorAll('select, input').find((el) => {
    if (!el.getAttribute('name')) return false;
    if (el.tagName === 'SELECT') return true;
    return (el.getAttribute('type') ?? '').toLowerCase() === 'radio';
  });
  if (!first) return null;
  const key = first.getAttribute('name') ?? '';

  if (first.tagName === 'SELECT') {
    const options: SpawnFormOption[] = [];
    for (const opt of first.querySelectorAll('option')) {
      if (opt.hasAttribute('disabled')) continue;
      const label = clean(opt.text);
      const id = opt.getAttribute('value') ?? label;
      if (!id) continue;
      const description = opt.getAttribute('title') ?? opt.getAttribute('data-description');
      options.push(withDescription({ id, label: label || id }, description));
    }
    return options.length ? { key, options } : null;
  }

  const radios = form
    .querySelectorAll('input')
    .filter((el) => (el.getAttribute('type') ?? '').toLowerCase() === 'radio' && el.getAttribute('name') === key);
  const options: SpawnFormOption[] = [];
  for (const radio of radios) {
    if (radio.hasAttribute('disabled')) continue;
    const id = radio.getAttribute('value');
    if (!id) continue;
    const { label, description } = radioLabel(form, radio);
    options.push(withDescription({ id, label: label || id }, description));
  }
  return options.length ? { key, options } : null;
}

function withDescription(o: SpawnFormOption, description: string | undefined | null): SpawnFormOption {
  const d = description ? clean(description) : '';
  return d ? { ...o, description: d } : o;
}

function clean(s: string): string {
  return decodeEntities(s).replace(/\s+/g, ' ').trim();
}

function decodeEntities(s: string): string {
  return s
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

/**
 * The readable name of a radio choice: its `<label for=id>`, else the label around it, else
 * the nearest heading or text next to it. A heading inside the label is the name and a
 * paragraph the description (KubeSpawner); nested selects' texts are left out.
 */
function radioLabel(form: HTMLElement, radio: HTMLElement): { label: string; description?: string } {
  const id = radio.getAttribute('id');
  let label: HTMLElement | undefined;
  if (id) label = form.querySelectorAll('label').find((l) => l.getAttribute('for') === id);
  if (!label) label = ancestor(radio, 'LABEL');
  if (label) return fromContainer(label);

  // No label: the text right after the radio (up to the next control), else the radio's own
  // block when it holds only this radio, else the block right after it.
  const after = textAfter(radio);
  if (after) return { label: after };
  const parent = radio.parentNode;
  if (parent) {
    const radiosInParent = parent.querySelectorAll('input').filter((i) => (i.getAttribute('type') ?? '').toLowerCase() === 'radio');
    if (radiosInParent.length === 1) {
      const fromParent = fromContainer(parent);
      if (fromParent.label) return fromParent;
      // e.g. <div class="radio"><input></div><div><h3>Name</h3><p>…</p></div>
      const sibling = parent.nextElementSibling;
      if (sibling) {
        const fromSibling = fromContainer(sibling);
        if (fromSibling.label) return fromSibling;
      }
    }
  }
  return { label: '' };
}

function textAfter(radio: HTMLElement): string {
  const parent = radio.parentNode;
  if (!parent) return '';
  const siblings = parent.childNodes;
  let i = siblings.indexOf(radio) + 1;
  let out = '';
  for (; i < siblings.length; i++) {
    const n = siblings[i];
    if (!n) break;
    if (n.nodeType === 3) out += n.rawText;
    else if (n.nodeType === 1) {
      const el = n as HTMLElement;
      if (['INPUT', 'BR', 'SELECT', 'HR', 'DIV', 'P', 'LABEL'].includes(el.tagName)) break;
      out += ` ${textWithoutControls(el)} `;
    }
  }
  return clean(out);
}

function fromContainer(el: HTMLElement): { label: string; description?: string } {
  const heading = el.querySelector('h1, h2, h3, h4, h5, h6, strong, b');
  const headingText = heading ? clean(heading.text) : '';
  if (headingText) {
    const p = el.querySelector('p');
    let description = p ? clean(p.text) : '';
    if (!description) {
      // "<strong>Tiny</strong> - 400 MB, 1 core": the rest of the text describes the choice.
      const all = clean(textWithoutControls(el));
      const at = all.indexOf(headingText);
      const rest = at >= 0 ? `${all.slice(0, at)} ${all.slice(at + headingText.length)}` : '';
      description = clean(rest).replace(/^[-\u2013\u2014:|,]\s*/, '');
    }
    return description ? { label: headingText, description } : { label: headingText };
  }
  return { label: clean(textWithoutControls(el)) };
}

/** Text of an element, leaving out select/option/script/style contents. */
function textWithoutControls(el: HTMLElement): string {
  let out = '';
  for (const child of el.childNodes) {
    if (child.nodeType === 3) out += child.rawText;
    else if (child.nodeType === 1) {
      const c = child as HTMLElement;
      if (['SELECT', 'OPTION', 'SCRIPT', 'STYLE', 'TEXTAREA'].includes(c.tagName)) continue;
      out += ` ${textWithoutControls(c)} `;
    }
  }
  return out;
}

function ancestor(el: HTMLElement, tag: string): HTMLElement | undefined {
  let p = el.parentNode as HTMLElement | null;
  while (p) {
    if (p.tagName === tag) return p;
    p = p.parentNode as HTMLElement | null;
  }
  return undefined;
}
