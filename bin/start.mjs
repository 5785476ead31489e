// `npm start`: runs the compiled bot from dist/ when it is current, else the sources through tsx.
import { launch } from './launch.mjs';

await launch('bot/main');
