/** The console's entry: renders the app into the page's one element. */
import { render } from 'preact';
import { App } from './ui/app.js';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
