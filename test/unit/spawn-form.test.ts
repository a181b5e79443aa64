import { describe, expect, it } from 'vitest';
import { parseSpawnForm } from '../../electron/core/hub/spawn-form';

/** The frame JupyterHub's spawn.html puts around a spawner's options form. */
function hubPage(optionsForm: string): string {
  return `<!DOCTYPE HTML>
<html><head><title>JupyterHub</title>
<script type="text/javascript">window.jhdata = { base_url: "/jhub/hub/", options_form: true, xsrf_token: "abc" };</script>
</head><body>
<nav><a href="/jhub/hub/home">Home</a><select name="lang"><option value="en">English</option></select></nav>
<div class="container">
  <div class="row"><h1>Server Options</h1></div>
  <form enctype="multipart/form-data" id="spawn_form" action="/jhub/hub/spawn/alice" method="post" role="form">
    <input type="hidden" name="_xsrf" value="2|abc|def" />
    ${optionsForm}
    <br>
    <div class="feedback-container"><input type="submit" value="Start" class="btn btn-jupyter form-control"></div>
  </form>
</div></body></html>`;
}

describe('parseSpawnForm', () => {
  it('reads a ProfilesSpawner <select name="profile">', () => {
    // wrapspawner's ProfilesSpawner form_template / input_template
    const html = hubPage(`<label for="profile">Select a job profile:</label>
        <select class="form-control" name="profile" required autofocus>
        <option value="local" selected>Local server</option>
        <option value="htc-small" >HTCondor: 12 GB, 1 core, 12 h</option>
        <option value="htc-medium" >HTCondor: 20 GB, 2 cores, 6 h</option>
        <option value="gpu" title="needs a GPU slot">GPU &amp; friends</option>
        </select>`);
    expect(parseSpawnForm(html)).toEqual({
      key: 'profile',
      options: [
        { id: 'local', label: 'Local server' },
        { id: 'htc-small', label: 'HTCondor: 12 GB, 1 core, 12 h' },
        { id: 'htc-medium', label: 'HTCondor: 20 GB, 2 cores, 6 h' },
        { id: 'gpu', label: 'GPU & friends', description: 'needs a GPU slot' },
      ],
    });
  });

  it('reads KubeSpawner profile_list radios with <h3> names and <p> descriptions, ignoring per-profile option selects', () => {
    // kubespawner/templates/form.html
    const profile = (slug: string, name: string, desc: string, checked = false, options = ''): string => `
    <label for="profile-item-${slug}" class="profile js-profile-label">
      <div class="radio">
        <input type="radio" name="profile" id="profile-item-${slug}" value="${slug}" ${checked ? 'checked' : ''} />
      </div>
      <div>
        <h3>${name}</h3><p>${desc}</p>
        ${options}
      </div>
    </label>`;
    const imageSelect = `<div><div class="js-options-container"><div class="option">
      <label for="profile-option-datascience--image" class="js-profile-option-label">Image</label>
      <select name="profile-option-datascience--image" class="form-control js-profile-option-select">
        <option value="scipy" selected>SciPy</option><option value="r">R</option>
      </select></div></div></div>`;
    const html = hubPage(`<style>.profile { margin: 0 }</style>
<div class="form-group" id="kubespawner-profiles-list">
${profile('small', 'Small', '12 GB RAM, 1 CPU', true)}
${profile('datascience', 'Data science', 'Pick an image', false, imageSelect)}
${profile('large', 'Large', '48 GB RAM, 2 CPUs')}
</div>
<script>const userOptions = {};</script>`);
    expect(parseSpawnForm(html)).toEqual({
      key: 'profile',
      options: [
        { id: 'small', label: 'Small', description: '12 GB RAM, 1 CPU' },
        { id: 'datascience', label: 'Data science', description: 'Pick an image' },
        { id: 'large', label: 'Large', description: '48 GB RAM, 2 CPUs' },
      ],
    });
  });

  it('takes any field name: radios named notebook_class with <strong> labels', () => {
    const item = (id: string, label: string, desc: string, checked = false): string => `
<label for="profile-item-${id}" class="form-control input-group">
  <div class="col-md-1"><input type="radio" name="notebook_class" id="profile-item-${id}" value="${id}"${checked ? ' checked' : ''} /></div>
  <div class="col-md-11"><strong>${label}</strong> - ${desc}</div>
</label>`;
    const html = hubPage(`<div class="form-group" id="kubespawner-profiles-list">
${item('tiny', 'Tiny', '400 MB, 1 core, 3 min')}
${item('small', 'Small', '2 GB, 1 core', true)}
</div>`);
    expect(parseSpawnForm(html)).toEqual({
      key: 'notebook_class',
      options: [
        { id: 'tiny', label: 'Tiny', description: '400 MB, 1 core, 3 min' },
        { id: 'small', label: 'Small', description: '2 GB, 1 core' },
      ],
    });
  });

  it('reads radios wrapped in a bare <label> and radios followed by plain text', () => {
    expect(
      parseSpawnForm(hubPage(`<label><input type="radio" name="queue" value="short"> Short queue</label>
<label><input type="radio" name="queue" value="long"> Long queue</label>`)),
    ).toEqual({ key: 'queue', options: [{ id: 'short', label: 'Short queue' }, { id: 'long', label: 'Long queue' }] });
    expect(
      parseSpawnForm(hubPage(`<div><input type="radio" name="cls" value="a"> Alpha<br><input type="radio" name="cls" value="b"> Beta</div>`)),
    ).toEqual({ key: 'cls', options: [{ id: 'a', label: 'Alpha' }, { id: 'b', label: 'Beta' }] });
  });

  it('takes the first select or radio group in the spawn form, not the page navigation', () => {
    const html = hubPage(`<select name="partition"><option value="cpu">CPU</option><option value="gpu">GPU</option></select>
<label><input type="radio" name="profile" value="x"> X</label>`);
    expect(parseSpawnForm(html)?.key).toBe('partition');
  });

  it('uses the option text when an option has no value, and skips disabled choices', () => {
    const html = hubPage(`<select name="profile"><option>default</option><option value="big" disabled>Big (full)</option></select>`);
    expect(parseSpawnForm(html)).toEqual({ key: 'profile', options: [{ id: 'default', label: 'default' }] });
  });

  it('returns null when the page has no choice to make', () => {
    expect(parseSpawnForm(hubPage('<input type="text" name="memory" value="4G">'))).toBeNull();
    expect(parseSpawnForm('<html><body><p>Your server is starting</p></body></html>')).toBeNull();
    expect(parseSpawnForm('')).toBeNull();
  });
});
