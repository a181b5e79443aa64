// CSS files are bundled by Vite; importing one has no value, only its side effect.
declare module '*.css';
