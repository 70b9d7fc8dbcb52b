// Words the server keeps: the need categories' names from the taxonomy (Chinese or English, as
// chosen), loaded once per language, so no page ever shows a category's code to a person.

import { gql } from './api.js';
import { lang } from './i18n.js';

// Same operation name as mobile-client-spec/operations/Categories.graphql, so /metrics counts it;
// three levels, as deep as the taxonomy goes (EDUCATION > SCHOOL > MIGRANT_CHILDREN_SCHOOL).
const CATEGORIES = `query Categories {
  categories { code name children { code name children { code name } } }
}`;

const loaded = {};

/**
 * The category tree in the chosen language: [{code, name, depth}] in tree order (each parent
 * before its children), fetched once per language.
 */
export function categoryTree() {
  const language = lang();
  if (!loaded[language]) {
    loaded[language] = gql(CATEGORIES).then(({ categories }) => {
      const flat = [];
      const walk = (nodes, depth) => {
        for (const node of nodes || []) {
          if (node.code) flat.push({ code: node.code, name: node.name, depth });
          walk(node.children, depth + 1);
        }
      };
      walk(categories, 0);
      return flat;
    }).catch((error) => {
      // A failed load is tried again next time instead of being remembered.
      delete loaded[language];
      throw error;
    });
  }
  return loaded[language];
}

/** A function naming category codes in the chosen language (the code itself only if unknown). */
export async function categoryNamer() {
  let names = new Map();
  try {
    names = new Map((await categoryTree()).map((c) => [c.code, c.name]));
  } catch {
    // The page still draws; the codes then show as they are.
  }
  return (codes) => (codes || []).map((code) => names.get(code) || code).join('、');
}
