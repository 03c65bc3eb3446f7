// Accessibility checks shared by the keyboard scenarios (a11y-keyboard, settings-*, admin-,
// worklist-keyboard): which form controls have no accessible name.

/**
 * The controls (inputs, selects, text areas, buttons, links, <summary>) with no accessible name:
 * no aria-label, no aria-labelledby with text, no <label> with text, and — for buttons, links and
 * summaries — no text of their own (a link may be named by an image's alt). Hidden ones (inside
 * [hidden], type=hidden) are left out. `within` limits the check to one part of the page (e.g. 'main').
 * Returns the start of each unnamed control's HTML.
 */
export async function unnamedControls(page, { within = '' } = {}) {
  return page.evaluate((scope) => {
    const selector = ['input', 'select', 'textarea', 'button', 'a[href]', 'summary']
      .map((tag) => (scope ? `${scope} ${tag}` : tag))
      .join(', ');
    const controls = [...document.querySelectorAll(selector)].filter(
      (el) => !el.closest('[hidden]') && el.getAttribute('type') !== 'hidden',
    );
    const named = (el) => {
      if (el.getAttribute('aria-label')?.trim()) return true;
      const labelledby = el.getAttribute('aria-labelledby');
      if (labelledby && labelledby.split(' ').some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if (el.labels && [...el.labels].some((label) => label.textContent?.trim())) return true;
      if (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName) && el.textContent?.trim()) return true;
      if (el.tagName === 'A' && el.querySelector('img[alt]:not([alt=""])')) return true;
      return false;
    };
    return controls.filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 120));
  }, within);
}
