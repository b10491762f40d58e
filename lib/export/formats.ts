// The export formats: each makes its files from a checkpoint's model.
import { ExportedModel, ExportFile } from './exported-model';
import { ONNX_FORMAT } from './onnx';

export interface ExportFormat {
  /** What --help says it writes. */
  help: string;
  files(model: ExportedModel): ExportFile[];
}

export const EXPORT_FORMATS: Record<string, ExportFormat> = { onnx: ONNX_FORMAT };
