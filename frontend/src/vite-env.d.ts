/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's origin, e.g. "https://trading.example"; empty for the page's own origin. */
  readonly VITE_API_URL?: string
}
