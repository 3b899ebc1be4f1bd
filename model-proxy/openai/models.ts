/** `GET /v1/models` and `GET /v1/models/:id`: the models a caller may use, as OpenAI lists them. */

/** OpenAI's model object. */
export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** OpenAI's model list. */
export interface ModelList {
  object: 'list';
  data: ModelObject[];
}

/**
 * One model. `owned_by` is the name's namespace (`library` for `llama3.1:8b`, `acme` for
 * `acme/coder:7b`), as Ollama's own `/v1/models` reports it.
 */
export function modelObject(id: string, created: number): ModelObject {
  const slash = id.lastIndexOf('/');
  const namespace = slash === -1 ? 'library' : (id.slice(0, slash).split('/').pop() ?? 'library');
  return { id, object: 'model', created, owned_by: namespace };
}

/** The list for `GET /v1/models`; `created` is Unix seconds (e.g. when the plan was last changed). */
export function modelList(models: readonly string[], created: number): ModelList {
  return { object: 'list', data: models.map((id) => modelObject(id, created)) };
}
