// Jest (before Node 24.9) cannot require() an ES module, which Node itself can: @fastify/static
// (Swagger UI's assets) requires the ESM-only content-disposition 3. This turns such a file into
// CommonJS for the tests only.
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const { outputText } = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    return { code: outputText };
  },
};
