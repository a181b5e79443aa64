import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Strip } from './Strip';
import '../theme.css';
import './strip.css';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Strip />
    </StrictMode>,
  );
}
