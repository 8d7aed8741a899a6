// ESLint for the web app (web/) and the root tool configs. Python lives elsewhere.
import js from '@eslint/js'
import pluginVue from 'eslint-plugin-vue'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: ['web/dist/**', 'node_modules/**', 'web/src/types/*.d.ts', 'web/src/api/schema.d.ts', '.venv/**', 'api/**', 'jobs/**', 'tests/**', 'e2e/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] },
    },
  },
  {
    files: ['web/**/*.{ts,vue}'],
    languageOptions: {
      globals: { ...globals.browser, ElMessage: 'readonly', ElMessageBox: 'readonly' },
    },
  },
  {
    files: ['*.{js,ts}', 'web/scripts/**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
      eqeqeq: ['error', 'smart'],
      // Formatting is left to the code's author; these fight multi-line templates for no gain.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': ['error', { html: { void: 'always', normal: 'always', component: 'always' } }],
      'vue/require-default-prop': 'off',
      'vue/multi-word-component-names': ['error', { ignores: [] }],
      'vue/no-v-html': 'error',
    },
  },
  {
    files: ['web/scripts/**/*.mjs'],
    rules: { 'no-console': 'off' },
  },
)
