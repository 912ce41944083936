import Foundation

/// `GET /openapi.json`: an OpenAPI 3.0 description of every route, the request bodies and the
/// answers (each error is `{"error": "..."}`), with the served model names as examples, so
/// clients and generators (schemathesis) know which names exist.
enum OpenAPIDocument {
    /// The document for a server of `models`.
    static func json(models: [String]) -> String {
        let names = String(decoding: (try? JSONEncoder().encode(models)) ?? Data("[]".utf8), as: UTF8.self)
        let example = String(decoding: (try? JSONEncoder().encode(models.first ?? "")) ?? Data("\"\"".utf8), as: UTF8.self)
        return template.replacingOccurrences(of: "\"MODEL_NAMES\"", with: names)
            .replacingOccurrences(of: "MODEL_NAMES_TEXT", with: models.joined(separator: ", "))
            .replacingOccurrences(of: "\"FIRST_MODEL\"", with: example)
    }

    private static let template = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "convnext serve",
    "version": "1.0.0",
    "description": "ConvNeXt image classification over HTTP: the Open Inference Protocol v2 (KServe) REST routes, a raw-image classify route, Prometheus metrics and a web page. With --token every route except /, /v2/health/live and /v2/health/ready needs 'Authorization: Bearer TOKEN'. Every refused request gets a 4xx or 503 with {\"error\": \"...\"}."
  },
  "servers": [{ "url": "/" }],
  "components": {
    "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
    "schemas": {
      "Error": {
        "type": "object", "required": ["error"], "additionalProperties": false,
        "properties": { "error": { "type": "string", "description": "What was wrong, in one line." } }
      },
      "TensorMetadata": {
        "type": "object", "required": ["name", "datatype", "shape"],
        "properties": {
          "name": { "type": "string" },
          "datatype": { "type": "string", "enum": ["FP32", "UINT8", "BYTES"] },
          "shape": { "type": "array", "items": { "type": "integer" } }
        }
      },
      "ServerMetadata": {
        "type": "object", "required": ["name", "version", "extensions"],
        "properties": {
          "name": { "type": "string" }, "version": { "type": "string" },
          "extensions": { "type": "array", "items": { "type": "string" } }
        }
      },
      "ModelMetadata": {
        "type": "object", "required": ["name", "versions", "platform", "inputs", "outputs"],
        "properties": {
          "name": { "type": "string" },
          "versions": { "type": "array", "items": { "type": "string" } },
          "platform": { "type": "string" },
          "inputs": { "type": "array", "items": { "$ref": "#/components/schemas/TensorMetadata" } },
          "outputs": { "type": "array", "items": { "$ref": "#/components/schemas/TensorMetadata" } },
          "parameters": { "type": "object", "description": "variant, precision, engine, format, parameters, classes, labels, preprocessing and alternative_input (the other input the model accepts)." }
        }
      },
      "InferenceRequest": {
        "type": "object", "required": ["inputs"],
        "properties": {
          "id": { "type": "string" },
          "parameters": { "type": "object" },
          "inputs": {
            "type": "array", "minItems": 1, "maxItems": 1,
            "items": {
              "type": "object", "required": ["name", "shape", "datatype", "data"],
              "properties": {
                "name": { "type": "string", "enum": ["input", "nv12"], "description": "'input': FP32 [1,3,H,W] as the model takes it; 'nv12': UINT8 [H*3/2,W], an NV12 frame of the model's input size." },
                "shape": { "type": "array", "items": { "type": "integer", "minimum": 0 } },
                "datatype": { "type": "string", "enum": ["FP32", "UINT8"] },
                "parameters": { "type": "object" },
                "data": { "type": "array", "description": "Row-major values, flat or nested.", "items": {} }
              }
            }
          },
          "outputs": {
            "type": "array",
            "items": {
              "type": "object", "required": ["name"],
              "properties": {
                "name": { "type": "string", "enum": ["logits"] },
                "parameters": {
                  "type": "object",
                  "properties": { "classification": { "type": "integer", "minimum": 1, "description": "Return the top K as BYTES strings 'value:index:label' (the value is the logit)." } }
                }
              }
            }
          }
        }
      },
      "InferenceResponse": {
        "type": "object", "required": ["model_name", "outputs"],
        "properties": {
          "model_name": { "type": "string" },
          "model_version": { "type": "string" },
          "id": { "type": "string" },
          "outputs": {
            "type": "array",
            "items": {
              "type": "object", "required": ["name", "datatype", "shape", "data"],
              "properties": {
                "name": { "type": "string" },
                "datatype": { "type": "string", "enum": ["FP32", "BYTES"] },
                "shape": { "type": "array", "items": { "type": "integer" } },
                "data": { "type": "array", "items": {} }
              }
            }
          }
        }
      },
      "ClassifyResponse": {
        "type": "object", "required": ["model", "top", "times_ms"],
        "properties": {
          "model": { "type": "string" },
          "top": {
            "type": "array",
            "items": {
              "type": "object", "required": ["index", "probability"],
              "properties": { "index": { "type": "integer" }, "label": { "type": "string" }, "probability": { "type": "number" } }
            }
          },
          "times_ms": {
            "type": "object", "required": ["queue", "decode", "preprocess", "inference", "postprocess"],
            "properties": {
              "queue": { "type": "number" }, "decode": { "type": "number" }, "preprocess": { "type": "number" },
              "inference": { "type": "number" }, "postprocess": { "type": "number" }
            }
          }
        }
      },
      "ModelList": {
        "type": "object", "required": ["models"],
        "properties": { "models": { "type": "array", "items": { "type": "object" } } }
      }
    },
    "responses": {
      "BadRequest": { "description": "Malformed request (JSON, query parameter).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "Unauthorized": { "description": "Missing or wrong bearer token.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "NotFound": { "description": "No such model or route.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "TooLarge": { "description": "Body above --max-body-bytes.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "UnsupportedMediaType": { "description": "A body of a media type the route does not take.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "Unprocessable": { "description": "Well-formed but unusable: wrong shape or datatype, undecodable image, wrong NV12 size.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
      "Unavailable": {
        "description": "The queue is full, the wait exceeded --timeout, or the service is stopping; retry after Retry-After seconds.",
        "headers": { "Retry-After": { "schema": { "type": "integer" } } },
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
      }
    },
    "parameters": {
      "ModelName": { "name": "name", "in": "path", "required": true, "schema": { "type": "string" }, "example": "FIRST_MODEL", "examples": { "served": { "value": "FIRST_MODEL" } }, "description": "A served model's name: one of MODEL_NAMES_TEXT." }
    }
  },
  "security": [{ "bearer": [] }],
  "paths": {
    "/": {
      "get": {
        "summary": "The web page", "security": [],
        "responses": { "200": { "description": "HTML", "content": { "text/html": { "schema": { "type": "string" } } } } }
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "responses": { "200": { "description": "OpenAPI 3", "content": { "application/json": { "schema": { "type": "object" } } } }, "401": { "$ref": "#/components/responses/Unauthorized" } }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics (text exposition format)",
        "responses": { "200": { "description": "Metrics", "content": { "text/plain": { "schema": { "type": "string" } } } }, "401": { "$ref": "#/components/responses/Unauthorized" } }
      }
    },
    "/v1/models": {
      "get": {
        "summary": "The loaded models: variant, parameters, precision, input, latency percentiles",
        "responses": { "200": { "description": "Models", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ModelList" } } } }, "401": { "$ref": "#/components/responses/Unauthorized" } }
      }
    },
    "/v1/classify": {
      "post": {
        "summary": "Classify a JPEG, PNG or raw NV12 frame with the model's own preprocessing",
        "parameters": [
          { "name": "model", "in": "query", "schema": { "type": "string", "enum": "MODEL_NAMES" }, "description": "Model name (optional when one model is served)." },
          { "name": "top", "in": "query", "schema": { "type": "integer", "minimum": 1, "default": 5 } },
          { "name": "nv12", "in": "query", "schema": { "type": "string", "pattern": "^[0-9]+x[0-9]+$" }, "description": "WIDTHxHEIGHT of a raw NV12 body (application/octet-stream)." }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "image/jpeg": { "schema": { "type": "string", "format": "binary" } },
            "image/png": { "schema": { "type": "string", "format": "binary" } },
            "application/octet-stream": { "schema": { "type": "string", "format": "binary" } }
          }
        },
        "responses": {
          "200": { "description": "Top-k classes and the time of each step", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ClassifyResponse" } } } },
          "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" },
          "404": { "$ref": "#/components/responses/NotFound" }, "413": { "$ref": "#/components/responses/TooLarge" },
          "415": { "$ref": "#/components/responses/UnsupportedMediaType" }, "422": { "$ref": "#/components/responses/Unprocessable" },
          "503": { "$ref": "#/components/responses/Unavailable" }
        }
      }
    },
    "/v2": {
      "get": {
        "summary": "Server metadata (Open Inference Protocol v2)",
        "responses": { "200": { "description": "Metadata", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ServerMetadata" } } } }, "401": { "$ref": "#/components/responses/Unauthorized" } }
      }
    },
    "/v2/health/live": {
      "get": { "summary": "Liveness: 200 while the process serves", "security": [], "responses": { "200": { "description": "Live (empty body)" } } }
    },
    "/v2/health/ready": {
      "get": { "summary": "Readiness: 200 once every model is loaded", "security": [], "responses": { "200": { "description": "Ready (empty body)" } } }
    },
    "/v2/models/{name}": {
      "get": {
        "summary": "Model metadata: inputs, outputs, datatypes, shapes",
        "parameters": [{ "$ref": "#/components/parameters/ModelName" }],
        "responses": {
          "200": { "description": "Metadata", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ModelMetadata" } } } },
          "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" }
        }
      }
    },
    "/v2/models/{name}/ready": {
      "get": {
        "summary": "Model readiness",
        "parameters": [{ "$ref": "#/components/parameters/ModelName" }],
        "responses": { "200": { "description": "Ready (empty body)" }, "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } }
      }
    },
    "/v2/models/{name}/infer": {
      "post": {
        "summary": "Inference on one tensor: FP32 [1,3,H,W] or UINT8 NV12 [H*3/2,W]; FP32 logits [1,classes] or top-k classification strings",
        "parameters": [{ "$ref": "#/components/parameters/ModelName" }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/InferenceRequest" } } } },
        "responses": {
          "200": { "description": "Outputs", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/InferenceResponse" } } } },
          "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" },
          "404": { "$ref": "#/components/responses/NotFound" }, "413": { "$ref": "#/components/responses/TooLarge" },
          "415": { "$ref": "#/components/responses/UnsupportedMediaType" }, "422": { "$ref": "#/components/responses/Unprocessable" },
          "503": { "$ref": "#/components/responses/Unavailable" }
        }
      }
    }
  }
}
"""#
}
