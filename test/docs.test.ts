import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envExample, readmeWithTable } from './helpers/env-docs.ts';

const readme = readFileSync('README.md', 'utf8');

describe('documentation stays true', () => {
  it('the README table lists every environment variable as config/ defines it', () => {
    // Regenerate with: node --import tsx test/helpers/env-docs.ts --write
    expect(readme).toBe(readmeWithTable(readme));
  });

  it('.env.example names every variable with its default', () => {
    expect(readFileSync('.env.example', 'utf8')).toBe(envExample());
  });

  it('the README gives the two commands for a fresh machine', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });

  it('.ci/run runs the README test command and ends with the tests line', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    expect(ci).toMatch(/npm test\b/);
    expect(ci).toMatch(/tests: \$\{r\.numPassedTests\} passed, \$\{r\.numFailedTests\} failed/);
  });
});
